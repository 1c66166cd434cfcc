"""Verifikasi: the queue with the API's filters, one enrolment's page, single and bulk decisions."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from config.errors import ServiceError
from enrolment import selectors, services
from enrolment.models import Status
from enrolment.serializers import QueueFilterSerializer
from panel import access
from panel.selectors import nik_reading, possible_duplicates
from panel.views.labels import WARNING_LABELS, warning_words
from villages.audit import mask_nik
from workers.models import Occupation
from workers.permissions import audit_list, audit_view, may_see_full_nik

PAGE_SIZE = 50


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("verify", "verify"), ("reject", "reject")])
    reason = forms.CharField(required=False, max_length=500, label=gettext_lazy("Reason"))
    ids = forms.MultipleChoiceField(required=False)  # choices: the ids on the page, set per request

    def __init__(self, *args: object, ids: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["ids"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(i, i) for i in ids]


def _queue(request: HttpRequest) -> tuple[dict, list, object]:
    user = access.official_of(request)
    filters = QueueFilterSerializer(data=request.GET)
    query: dict = dict(filters.validated_data) if filters.is_valid() else {}
    query["status"] = query.get("status") or {Status.SUBMITTED}
    enrolments = (
        selectors.enrolment_list(user=user, **query)
        .select_related("worker", "village", "worker__occupation")
        .order_by("status_changed_at", "id")
    )
    page = Paginator(enrolments, PAGE_SIZE).get_page(request.GET.get("halaman"))
    audit_list(
        access.actor_of(request),
        "enrolment",
        count=len(page.object_list),
        filters=query,
        queue=True,
        people=((e.worker_id, e.village_id) for e in page.object_list),
    )
    rows = [
        {
            "enrolment": e,
            "nik": mask_nik(e.worker.nik),
            "warnings": warning_words(
                [*e.worker.warnings, *e.warnings], e.needs_correction or e.worker.needs_correction
            ),
        }
        for e in page.object_list
    ]
    errors = {} if filters.is_valid() else filters.errors
    return {"query": query, "errors": errors}, rows, page


@access.page(*access.QUEUE_READERS)
def queue(request: HttpRequest) -> HttpResponse:
    context, rows, page = _queue(request)
    return render(
        request,
        "panel/queue.html",
        {
            **context,
            "rows": rows,
            "page": page,
            "may_decide": access.may(access.official_of(request), access.DECIDERS),
            "warning_choices": sorted(WARNING_LABELS.items()),
            "occupations": Occupation.objects.filter(active=True).order_by("sort_order", "name"),
            "params": request.GET,
        },
    )


@access.page(*access.DECIDERS)
@require_POST
def decide_many(request: HttpRequest) -> HttpResponse:
    """Bulk verify or reject: one result per enrolment, shown on the queue page."""
    ids = request.POST.getlist("ids")
    form = DecisionForm(request.POST, ids=ids)
    if not form.is_valid() or not ids:
        messages.error(request, _("Choose at least one enrolment and an action."))
        return redirect("panel:queue")
    if len(ids) > settings.BULK_MAX_RECORDS:
        messages.error(request, _("At most %(n)s enrolments at once.") % {"n": settings.BULK_MAX_RECORDS})
        return redirect("panel:queue")
    outcomes = services.enrolments_transition(
        actor=access.actor_of(request),
        requests=[services.TransitionRequest(i) for i in ids],
        action=form.cleaned_data["action"],
        reason=form.cleaned_data["reason"],
    )
    results = [
        {"id": o.id, "result": o.result.value, "message": str(o.error.message) if o.error else ""} for o in outcomes
    ]
    context, rows, page = _queue(request)
    return render(
        request,
        "panel/queue.html",
        {
            **context,
            "rows": rows,
            "page": page,
            "results": results,
            "may_decide": True,
            "warning_choices": sorted(WARNING_LABELS.items()),
            "occupations": Occupation.objects.filter(active=True).order_by("sort_order", "name"),
            "params": request.GET,
        },
    )


@access.page(*access.QUEUE_READERS)
def enrolment_detail(request: HttpRequest, enrolment_id: str) -> HttpResponse:
    user = access.official_of(request)
    enrolment = selectors.enrolment_get(user=user, enrolment_id=enrolment_id)
    worker = enrolment.worker
    full_nik = may_see_full_nik(user, worker.village_id)
    audit_view(access.actor_of(request), worker, full_nik=full_nik, page="panel:enrolment")
    status = 200
    if request.method == "POST":
        if not access.may(user, access.DECIDERS):
            return access.forbidden(request)
        form = DecisionForm(request.POST, ids=[])
        version = request.POST.get("version", "")
        if not version.isdigit():
            # The page always sends the version it showed; without a readable one the decision
            # could land on a record changed since, so nothing is decided (never If-Match skipped).
            messages.error(request, _("The page did not say which version it showed: open the enrolment again."))
            status = 400
        elif form.is_valid():
            try:
                services.enrolment_transition(
                    actor=access.actor_of(request),
                    enrolment_id=enrolment.id,
                    action=form.cleaned_data["action"],
                    reason=form.cleaned_data["reason"],
                    if_match=int(version),
                )
            except ServiceError as refusal:
                messages.error(request, str(refusal.message))
            else:
                done = _("Verified.") if form.cleaned_data["action"] == "verify" else _("Rejected.")
                messages.success(request, done)
            return redirect("panel:enrolment", enrolment_id=enrolment.id)
    return render(
        request,
        "panel/enrolment.html",
        {
            "enrolment": enrolment,
            "worker": worker,
            "nik": worker.nik if full_nik else mask_nik(worker.nik),
            "reading": nik_reading(worker),
            "warnings": warning_words(
                [*worker.warnings, *enrolment.warnings], enrolment.needs_correction or worker.needs_correction
            ),
            "duplicates": [(d, mask_nik(d.nik)) for d in possible_duplicates(user=user, worker=worker)],
            "may_decide": access.may(user, access.DECIDERS) and enrolment.status in (Status.SUBMITTED, Status.VERIFIED),
        },
        status=status,
    )
