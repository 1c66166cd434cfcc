"""Klaim: deaths and the claims that follow. The list (filters; claims whose documents have waited
PANEL_CLAIM_WAITING_DAYS or longer highlighted and filterable), one claim (heirs masked as the API
masks them, the document checklist, the status moves the claim may make next), and the death
report from a person's page. The same services as /api/v1/claims and /api/v1/workers/{id}/death
(enrolment.funding.deaths): their roles, scope, transitions and audit."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy

from config.errors import ServiceError
from enrolment.funding import deaths
from enrolment.funding.models import Claim, ClaimProgram, ClaimStatus, DeathCause
from panel import access
from panel.selectors import claims_filtered, overdue_claim_ids
from panel.views.labels import claim_answer, document_words, not_covered_words
from villages.audit import mask_nik
from workers.permissions import audit_list, audit_view
from workers.selectors import worker_get

PAGE_SIZE = 50
AREA = r"^[0-9]{2}(\.[0-9]{2}){0,2}(\.[0-9]{4})?$"


class ClaimFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", gettext_lazy("all")), *ClaimStatus.choices], label=gettext_lazy("Status")
    )
    program = forms.ChoiceField(
        required=False, choices=[("", gettext_lazy("all")), *ClaimProgram.choices], label=gettext_lazy("Program")
    )
    covered = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("all")), ("1", gettext_lazy("covered")), ("0", gettext_lazy("not covered"))],
        label=gettext_lazy("Covered"),
    )
    desa = forms.RegexField(
        AREA,
        required=False,
        max_length=13,
        label=gettext_lazy("Village or area code"),
        error_messages={"invalid": gettext_lazy("Enter an area code such as 17.04.01.2001.")},
    )
    terlambat = forms.BooleanField(required=False, label=gettext_lazy("Overdue documents only"))


@access.page(*deaths.CLAIM_ROLES)
def claims(request: HttpRequest) -> HttpResponse:
    user = access.official_of(request)
    form = ClaimFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    status = 200
    if form.is_bound:
        if form.is_valid():
            filters = {k: v for k, v in form.cleaned_data.items() if v not in ("", None, False)}
        else:
            status = 400
    found = claims_filtered(
        user=user,
        status=filters.get("status"),
        program=filters.get("program"),
        covered={"1": True, "0": False}.get(filters.get("covered", "")),
        area=filters.get("desa"),
        overdue=bool(filters.get("terlambat")),
    ).select_related("worker", "village")
    page = Paginator(found.order_by("-created_at", "id"), PAGE_SIZE).get_page(request.GET.get("halaman"))
    audit_list(
        access.actor_of(request),
        "claim",
        count=len(page.object_list),
        filters=filters,
        people=((c.worker_id, c.village_id) for c in page.object_list),
    )
    overdue = overdue_claim_ids(user=user, ids=[c.id for c in page.object_list])
    now = timezone.now()
    rows = [
        {
            "claim": c,
            "overdue": c.id in overdue,
            "waiting_days": (now - c.status_changed_at).days,
            "received": sum(1 for item in c.checklist if item.get("received")),
            "documents": len(c.checklist),
            "reason": not_covered_words(c.reason) if not c.covered else "",
        }
        for c in page.object_list
    ]
    return render(
        request,
        "panel/claims.html",
        {"form": form, "rows": rows, "page": page, "waiting_days": settings.PANEL_CLAIM_WAITING_DAYS},
        status=status,
    )


class ClaimStatusForm(forms.Form):
    version = forms.IntegerField(min_value=1)
    status = forms.ChoiceField(choices=ClaimStatus.choices)


class ClaimDocumentsForm(forms.Form):
    version = forms.IntegerField(min_value=1)
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea, label=gettext_lazy("Notes"))


@access.page(*deaths.CLAIM_ROLES)
def claim(request: HttpRequest, claim_id: str) -> HttpResponse:
    user = access.official_of(request)
    found = deaths.claim_get(user=user, claim_id=claim_id)
    status = 200
    if request.method == "POST":
        patch: dict[str, Any] | None = None
        version: int | None = None
        if request.POST.get("action") == "status":
            form: forms.Form = ClaimStatusForm(request.POST)
            if form.is_valid():
                patch, version = {"status": form.cleaned_data["status"]}, form.cleaned_data["version"]
        elif request.POST.get("action") == "documents":
            form = ClaimDocumentsForm(request.POST)
            if form.is_valid():
                received = set(request.POST.getlist("received"))
                patch = {
                    "checklist": [{"document": i["document"], "received": i["document"] in received}
                                  for i in found.checklist],
                    "notes": form.cleaned_data["notes"],
                }  # fmt: skip
                if not found.covered:
                    patch.pop("checklist")
                version = form.cleaned_data["version"]
        if patch is None:
            messages.error(request, gettext_lazy("The form was not understood; nothing was changed."))
            status = 400
        else:
            try:
                deaths.claim_update(actor=access.actor_of(request), claim_id=found.id, data=patch, if_match=version)
            except ServiceError as refusal:
                messages.error(request, str(refusal.message))
                status = refusal.status_code if 400 <= refusal.status_code < 500 else 400
            else:
                messages.success(request, gettext_lazy("The claim was saved."))
                return redirect("panel:claim", claim_id=found.id)
        found = deaths.claim_get(user=user, claim_id=claim_id)
    audit_view(access.actor_of(request), found.worker, full_nik=False, page="panel:claim", claim=found.id)
    return render(request, "panel/claim.html", _claim_context(found), status=status)


def _claim_context(found: Claim) -> dict[str, Any]:
    return {
        "claim": found,
        "death": found.death,
        "answer": claim_answer(found),
        # Heirs' NIKs masked, as the API's claim representation masks them.
        "heirs": [{**h, "nik": mask_nik(h.get("nik"))} for h in found.heirs if isinstance(h, dict)],
        "checklist": [{**item, "label": document_words(item["document"])} for item in found.checklist],
        "next_statuses": [(s, ClaimStatus(s).label) for s in deaths.claim_next_statuses(found)],
    }


class DeathForm(forms.Form):
    date_of_death = forms.DateField(label=gettext_lazy("Date of death"), widget=forms.DateInput(attrs={"type": "date"}))
    cause = forms.ChoiceField(choices=DeathCause.choices, label=gettext_lazy("Cause"))
    place = forms.CharField(max_length=200, label=gettext_lazy("Place of death"))
    reported_by_name = forms.CharField(required=False, max_length=150, label=gettext_lazy("Reported by (name)"))
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea, label=gettext_lazy("Notes"))


@access.page(*deaths.DEATH_ROLES)
def death(request: HttpRequest, worker_id: str) -> HttpResponse:
    worker = worker_get(user=access.official_of(request), worker_id=worker_id)
    form = DeathForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                found, _created = deaths.death_report(
                    actor=access.actor_of(request), worker_id=worker.id, data=form.cleaned_data
                )
            except ServiceError as refusal:
                messages.error(request, str(refusal.message))
                for field, problems in (refusal.details.get("fields") or {}).items():
                    form.add_error(field if field in form.fields else None, [str(p) for p in problems])
                status = refusal.status_code if 400 <= refusal.status_code < 500 else 400
            else:
                messages.success(request, claim_answer(found))
                return redirect("panel:claim", claim_id=found.id)
    return render(request, "panel/death.html", {"worker": worker, "form": form}, status=status)
