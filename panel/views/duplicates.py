"""Duplikat: the likely duplicates the caller may review, one pair side by side, merge and dismiss.

The same reads and services as /api/v1/duplicates (workers.duplicates), so the same no-leak rule:
a pair is listed and opened only by an official who sees both records; a village whose record is
paired with one elsewhere learns only that a possible duplicate exists elsewhere (its own record,
nothing of the other). A merge names, field by field, the record whose value survives, and sends
the two versions the page showed (as If-Match): a record edited meanwhile is refused (412), not
merged on values the reviewer never saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import NotFound, ServiceError
from panel import access
from panel.templatetags.panel import address_line, consent_line, rupiah
from villages.audit import mask_nik
from villages.models import User
from workers.duplicates import selectors, services
from workers.duplicates.scoring import Reason
from workers.models import DuplicatePair, DuplicateStatus, Worker
from workers.permissions import audit_list, audit_view, may_see_full_nik

PAGE_SIZE = 50

REASON_LABELS = {
    Reason.SAME_NIK: gettext_lazy("Same NIK"),
    Reason.NIK_ONE_DIGIT: gettext_lazy("NIK one digit apart"),
    Reason.SAME_KK: gettext_lazy("Same family card (KK)"),
    Reason.SAME_PHONE: gettext_lazy("Same phone"),
    Reason.SIMILAR_NAME: gettext_lazy("Similar name"),
    Reason.SAME_BIRTH_DATE: gettext_lazy("Same birth date"),
    Reason.BIRTH_DATE_SWAPPED: gettext_lazy("Birth date with day and month swapped"),
    Reason.BIRTH_DATE_TYPO: gettext_lazy("Birth date one digit apart"),
    Reason.SAME_MOTHER: gettext_lazy("Same mother's maiden name"),
    Reason.SAME_VILLAGE: gettext_lazy("Same village"),
}
STATUS_LABELS: dict[str, Any] = {
    DuplicateStatus.OPEN: gettext_lazy("Open"),
    DuplicateStatus.DISMISSED: gettext_lazy("Not the same person"),
    DuplicateStatus.MERGED: gettext_lazy("Merged"),
}


def reason_words(reasons: list[str]) -> list[str]:
    return [str(REASON_LABELS.get(code, code)) for code in reasons]


def _heirs(w: Worker) -> str:
    return ", ".join(f"{h.get('name', '')} ({h.get('relationship', '')})" for h in w.heirs if isinstance(h, dict))


# The merge's fields (workers.duplicates.services.MERGE_FIELDS), as the page shows each record's
# value: (field, label, value shown; the second argument is whether the caller sees the full NIK).
FIELDS: list[tuple[str, Any, Callable[[Worker, bool], str]]] = [
    ("full_name", gettext_lazy("Full name"), lambda w, full: w.full_name),
    ("nik", "NIK", lambda w, full: w.nik if full else mask_nik(w.nik)),
    ("kk_number", gettext_lazy("Family card (KK)"), lambda w, full: w.kk_number if full else mask_nik(w.kk_number)),
    ("birth_date", gettext_lazy("Birth date"), lambda w, full: f"{w.birth_date:%d-%m-%Y}" if w.birth_date else ""),
    ("birth_place", gettext_lazy("Birth place"), lambda w, full: w.birth_place),
    ("sex", gettext_lazy("Sex"), lambda w, full: str(w.get_sex_display()) if w.sex else ""),
    ("phone", gettext_lazy("Phone"), lambda w, full: w.phone),
    ("village", gettext_lazy("Village"), lambda w, full: f"{w.village.name} ({w.village_id})"),
    ("address", gettext_lazy("Address"), lambda w, full: address_line(w)),
    ("occupation", gettext_lazy("Occupation"), lambda w, full: w.occupation.name if w.occupation else ""),
    ("kusuka_number", gettext_lazy("KUSUKA number"), lambda w, full: w.kusuka_number),
    ("monthly_income", gettext_lazy("Monthly income"), lambda w, full: rupiah(w.monthly_income)),
    ("mother_maiden_name", gettext_lazy("Mother's maiden name"), lambda w, full: w.mother_maiden_name),
    ("heirs", gettext_lazy("Heirs"), lambda w, full: _heirs(w)),
    ("consent", gettext_lazy("Consent"), lambda w, full: consent_line(w)),
]


class ListForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", gettext_lazy("All")), *STATUS_LABELS.items()], label=gettext_lazy("Status")
    )
    area = forms.CharField(required=False, max_length=13, label=gettext_lazy("Village or area code"))


class MergeForm(forms.Form):
    """Built for one pair: `keep` and each differing field choose one of its two record ids."""

    version_a = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    version_b = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, pair: DuplicatePair, differing: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = [(pair.a_id, pair.a_id), (pair.b_id, pair.b_id)]
        self.fields["keep"] = forms.ChoiceField(choices=ids, label=gettext_lazy("Surviving record"))
        for name in differing:
            self.fields[f"field_{name}"] = forms.ChoiceField(choices=ids, required=False)
        self.pair = pair

    def merge_fields(self) -> dict[str, str]:
        data = self.cleaned_data
        return {key.removeprefix("field_"): data[key] for key in self.fields if key.startswith("field_") and data[key]}

    def versions(self) -> dict[str, int]:
        return {self.pair.a_id: self.cleaned_data["version_a"], self.pair.b_id: self.cleaned_data["version_b"]}


class DismissForm(forms.Form):
    reason = forms.CharField(max_length=500, label=gettext_lazy("Why they are not the same person"))


@access.page(*access.QUEUE_READERS)
def duplicates(request: HttpRequest) -> HttpResponse:
    user = access.official_of(request)
    form = ListForm(request.GET or {"status": DuplicateStatus.OPEN})
    if not form.is_valid():
        return render(request, "panel/duplicates.html", {"form": form, "rows": [], "elsewhere": []}, status=400)
    filters = {k: v for k, v in form.cleaned_data.items() if v}
    try:
        pairs = selectors.duplicate_list(user=user, status=filters.get("status"), area=filters.get("area"))
    except NotFound as missing:  # an area outside the caller's: the panel's 404 page
        raise Http404 from missing
    page = Paginator(pairs.select_related("a__village", "b__village").order_by("-score", "id"), PAGE_SIZE).get_page(
        request.GET.get("halaman")
    )
    elsewhere = selectors.duplicates_elsewhere(user=user)
    audit_list(
        access.actor_of(request),
        "duplicate_pair",
        count=len(page.object_list),
        filters=filters,
        people=[
            *(person for p in page.object_list for person in ((p.a_id, p.a.village_id), (p.b_id, p.b.village_id))),
            *((w.id, w.village_id) for w in elsewhere),
        ],
    )
    rows = [
        {"pair": p, "reasons": reason_words(list(p.reasons)), "status": STATUS_LABELS.get(p.status, p.status)}
        for p in page.object_list
    ]
    return render(request, "panel/duplicates.html", {"form": form, "rows": rows, "page": page, "elsewhere": elsewhere})


def _pair_or_404(user: User, pair_id: int) -> DuplicatePair:
    pair = (
        selectors.duplicate_list(user=user)
        .select_related("a__village", "b__village", "a__occupation", "b__occupation")
        .filter(pk=pair_id)
        .first()
    )
    if pair is None:
        raise Http404
    return pair


def _differing(pair: DuplicatePair) -> list[str]:
    return [
        name
        for name, columns in services.MERGE_FIELDS.items()
        if any(getattr(pair.a, c) != getattr(pair.b, c) for c in columns)
    ]


def _pair_page(
    request: HttpRequest,
    pair: DuplicatePair,
    *,
    merge_form: MergeForm | None = None,
    dismiss_form: DismissForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = access.official_of(request)
    full = {w.id: may_see_full_nik(user, w.village_id) for w in (pair.a, pair.b)}
    for worker in (pair.a, pair.b):
        audit_view(access.actor_of(request), worker, full_nik=full[worker.id], page="panel:duplicate")
    differing = _differing(pair)
    is_open = pair.status == DuplicateStatus.OPEN
    if is_open and merge_form is None:
        merge_form = MergeForm(
            initial={"version_a": pair.a.version, "version_b": pair.b.version, "keep": pair.a_id},
            pair=pair,
            differing=differing,
        )
    bound = merge_form.data if merge_form is not None and merge_form.is_bound else {}
    rows = [
        {
            "name": name,
            "label": label,
            "a": show(pair.a, full[pair.a_id]),
            "b": show(pair.b, full[pair.b_id]),
            "differs": name in differing,
            "chosen": bound.get(f"field_{name}", pair.a_id),
        }
        for name, label, show in FIELDS
    ]
    # A page sent back (bad input) keeps the versions first shown: a resubmission still checks them.
    versions = (bound.get("version_a", pair.a.version), bound.get("version_b", pair.b.version))
    return render(
        request,
        "panel/duplicate.html",
        {
            "pair": pair,
            "rows": rows,
            "reasons": reason_words(list(pair.reasons)),
            "status": STATUS_LABELS.get(pair.status, pair.status),
            "is_open": is_open,
            "merge_form": merge_form,
            "keep": bound.get("keep", pair.a_id),
            "versions": versions,
            "dismiss_form": dismiss_form or DismissForm(),
            "error": error,
        },
        status=status,
    )


@access.page(*access.QUEUE_READERS)
def duplicate(request: HttpRequest, pair_id: int) -> HttpResponse:
    return _pair_page(request, _pair_or_404(access.official_of(request), pair_id))


@access.page(*access.QUEUE_READERS)
def duplicate_merge(request: HttpRequest, pair_id: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("panel:duplicate", pair_id=pair_id)
    pair = _pair_or_404(access.official_of(request), pair_id)
    form = MergeForm(request.POST, pair=pair, differing=_differing(pair))
    if not form.is_valid():
        return _pair_page(request, pair, merge_form=form, error=_("Check the choices below."), status=400)
    try:
        survivor = services.duplicate_merge(
            actor=access.actor_of(request),
            pair_id=pair.pk,
            keep=form.cleaned_data["keep"],
            fields=form.merge_fields(),
            versions=form.versions(),
        )
    except NotFound as missing:
        raise Http404 from missing
    except ServiceError as refusal:
        pair = _pair_or_404(access.official_of(request), pair_id)
        return _pair_page(request, pair, error=str(refusal.message), status=refusal.status_code)
    messages.success(request, _("The two records were merged into this one."))
    return redirect("panel:person", worker_id=survivor.id)


@access.page(*access.QUEUE_READERS)
def duplicate_dismiss(request: HttpRequest, pair_id: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("panel:duplicate", pair_id=pair_id)
    pair = _pair_or_404(access.official_of(request), pair_id)
    form = DismissForm(request.POST)
    if not form.is_valid():
        return _pair_page(
            request, pair, dismiss_form=form, error=_("Say why they are not the same person."), status=400
        )
    try:
        services.duplicate_dismiss(actor=access.actor_of(request), pair_id=pair.pk, reason=form.cleaned_data["reason"])
    except NotFound as missing:
        raise Http404 from missing
    except ServiceError as refusal:
        return _pair_page(request, pair, error=str(refusal.message), status=refusal.status_code)
    messages.success(request, _("The pair was marked as two different people; it will not be flagged again."))
    return redirect("panel:duplicates")
