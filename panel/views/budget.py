"""Anggaran: the funding decrees of the caller's areas (allocated against committed, payments
recorded) and renewals: a dry run with who is carried over and who is left out by reason, then
the real run with a live progress bar (htmx polling the job row, as the import page does).

The same services and permissions as /api/v1/funding/allocations and /api/v1/renewals
(enrolment.funding): supervisors and admins, in their areas; a job is run by the
`enrolment.funding.renew` task, and asking for the same renewal again creates nothing new.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import FieldsInvalid
from enrolment.funding.allocations import allocation_list
from enrolment.funding.models import JobStatus, LeftOutReason, RenewalJob, RenewalOutcome
from enrolment.funding.renewals import jobs as renewals
from panel import access
from panel.selectors import allocations_with_payments, renewal_groups

# As the API: AdminOrSupervisor for decrees, renewals.RENEWAL_ROLES for renewals.
BUDGET_READERS = renewals.RENEWAL_ROLES
ROWS_PER_PAGE = 100


class RenewalForm(forms.Form):
    to_allocation = forms.CharField(max_length=64, label=gettext_lazy("Into the decree"))
    from_budget_year = forms.IntegerField(
        min_value=2000,
        max_value=2100,
        label=gettext_lazy("From budget year"),
        error_messages={
            key: gettext_lazy("Enter a year such as 2025.") for key in ("invalid", "min_value", "max_value")
        },
    )
    area = forms.RegexField(
        r"^[0-9]{2}(\.[0-9]{2}){0,2}(\.[0-9]{4})?$",
        max_length=13,
        required=False,
        label=gettext_lazy("Area code (empty: the decree's area)"),
        error_messages={"invalid": gettext_lazy("Enter an area code such as 17.04.")},
    )
    dry_run = forms.BooleanField(required=False, label=gettext_lazy("Dry run: decide only, create nothing"))


def _year(request: HttpRequest) -> int | None:
    text = request.GET.get("tahun", "")
    return int(text) if text.isdigit() and 2000 <= int(text) <= 2100 else None


@access.page(*BUDGET_READERS)
def budget(request: HttpRequest) -> HttpResponse:
    user = access.official_of(request)
    year = _year(request)
    form = RenewalForm(request.POST or None, initial={"dry_run": True})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            allocation = allocation_list(user=user).filter(id=data["to_allocation"]).first()
            try:
                job = renewals.renewal_create(
                    actor=access.actor_of(request),
                    area=data["area"] or (allocation.area_id if allocation else ""),
                    from_budget_year=data["from_budget_year"],
                    to_allocation=data["to_allocation"],
                    dry_run=data["dry_run"],
                )
            except FieldsInvalid as refusal:
                for field, problems in (refusal.details.get("fields") or {}).items():
                    form.add_error(field if field in form.fields else None, [str(p) for p in problems])
            else:
                return redirect("panel:renewal", job_id=job.id)
        status = 400
    rows = []
    for allocation in allocations_with_payments(user=user, budget_year=year):
        rows.append(
            {
                "allocation": allocation,
                "people_left": allocation.quota_workers - allocation.committed_workers,
                "money_left": allocation.amount_idr - allocation.committed_idr,
                "people_percent": _share(allocation.committed_workers, allocation.quota_workers),
                "money_percent": _share(allocation.committed_idr, allocation.amount_idr),
            }
        )
    jobs = renewals.renewals_visible(user=user).select_related("area").order_by("-created_at")[:20]
    return render(
        request,
        "panel/budget.html",
        {"rows": rows, "year": year, "form": form, "jobs": jobs, "this_year": timezone.localdate().year},
        status=status,
    )


def _share(part: int, whole: int) -> int:
    return min(100, part * 100 // whole) if whole else 0


def _progress_context(job: RenewalJob) -> dict[str, object]:
    done = job.status in (JobStatus.COMPLETED, JobStatus.FAILED)
    percent = 100 if job.status == JobStatus.COMPLETED else 0
    if not done and job.total_rows:
        percent = min(99, job.processed_rows * 100 // job.total_rows)
    # A dry run decides everyone at once and processes no chunk: once completed, all are done.
    processed = job.total_rows if job.status == JobStatus.COMPLETED else job.processed_rows
    return {"job": job, "done": done, "percent": percent, "processed": processed}


@access.page(*BUDGET_READERS)
def renewal(request: HttpRequest, job_id: object) -> HttpResponse:
    job = renewals.renewal_get(user=access.official_of(request), job_id=str(job_id))
    context = _progress_context(job)
    if context["done"]:
        outcome = request.GET.get("hasil") or None
        reason = request.GET.get("alasan") or None
        if outcome not in (None, *RenewalOutcome.values) or reason not in (None, *LeftOutReason.values):
            messages.error(request, _("Unknown outcome or reason; showing every row."))
            outcome = reason = None
        rows = renewals.renewal_rows(job=job, outcome=outcome, reason=reason).order_by("position")
        context.update(
            {
                "groups": renewal_groups(job),
                "page": Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("halaman")),
                "outcome": outcome,
                "reason": reason,
                "reasons": dict(LeftOutReason.choices),
                "outcomes": dict(RenewalOutcome.choices),
            }
        )
    return render(request, "panel/renewal.html", context)


@access.page(*BUDGET_READERS)
def renewal_progress(request: HttpRequest, job_id: object) -> HttpResponse:
    """The progress fragment htmx polls; once the job is done it tells the page to reload."""
    job = renewals.renewal_get(user=access.official_of(request), job_id=str(job_id))
    context = _progress_context(job)
    response = render(request, "panel/_renewal_progress.html", context)
    if context["done"]:
        response["HX-Refresh"] = "true"
    return response
