"""Peserta: search people, one person's page with enrolments and history, and the correction form
(the same worker_update service as PATCH /workers/{id}, with the version seen as If-Match)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import ServiceError
from enrolment import selectors as enrolment_selectors
from enrolment.funding import deaths
from panel import access
from panel.selectors import history
from panel.views.labels import claim_answer, warning_words
from villages.audit import mask_nik
from workers import services as worker_services
from workers.models import Occupation, Sex
from workers.permissions import audit_list, audit_view, may_see_full_nik
from workers.selectors import worker_get, worker_list

PAGE_SIZE = 50


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label=gettext_lazy("Name or NIK"))
    area = forms.CharField(required=False, max_length=13, label=gettext_lazy("Village or area code"))
    occupation = forms.CharField(required=False, max_length=32, label=gettext_lazy("Occupation"))
    perbaiki = forms.BooleanField(required=False, label=gettext_lazy("Needs correction only"))


class CorrectionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    full_name = forms.CharField(max_length=150, label=gettext_lazy("Full name"))
    birth_date = forms.DateField(label=gettext_lazy("Birth date"), widget=forms.DateInput(attrs={"type": "date"}))
    sex = forms.ChoiceField(choices=Sex.choices, label=gettext_lazy("Sex"))
    phone = forms.CharField(required=False, max_length=20, label=gettext_lazy("Phone"))
    street = forms.CharField(required=False, max_length=200, label=gettext_lazy("Street"))
    dusun = forms.CharField(required=False, max_length=100, label=gettext_lazy("Hamlet (dusun)"))
    rt = forms.CharField(required=False, max_length=3, label="RT")
    rw = forms.CharField(required=False, max_length=3, label="RW")
    occupation = forms.ModelChoiceField(
        queryset=Occupation.objects.filter(active=True).order_by("sort_order", "name"),
        label=gettext_lazy("Occupation"),
        to_field_name="code",
    )
    monthly_income = forms.IntegerField(required=False, min_value=0, label=gettext_lazy("Monthly income (Rp)"))

    def patch(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "full_name": data["full_name"],
            "birth_date": data["birth_date"].isoformat(),
            "sex": data["sex"],
            "phone": data["phone"],
            "address": {"street": data["street"], "dusun": data["dusun"], "rt": data["rt"], "rw": data["rw"]},
            "occupation": data["occupation"].code,
            "monthly_income": data["monthly_income"],
        }


FIELD_OF = {"address.street": "street", "address.dusun": "dusun", "address.rt": "rt", "address.rw": "rw"}


@access.page(*access.RECORD_READERS)
def people(request: HttpRequest) -> HttpResponse:
    user = access.official_of(request)
    form = SearchForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    workers = worker_list(
        user=user,
        area=filters.get("area"),
        occupation=filters.get("occupation"),
        q=filters.get("q"),
        needs_correction=True if filters.get("perbaiki") else None,
    ).select_related("village", "occupation")
    page = Paginator(workers.order_by("full_name", "id"), PAGE_SIZE).get_page(request.GET.get("halaman"))
    audit_list(
        access.actor_of(request),
        "worker",
        count=len(page.object_list),
        filters=filters,
        people=((w.id, w.village_id) for w in page.object_list),
    )
    rows = [{"worker": w, "nik": mask_nik(w.nik)} for w in page.object_list]
    return render(
        request,
        "panel/people.html",
        {
            "form": form,
            "rows": rows,
            "page": page,
            "occupations": Occupation.objects.filter(active=True).order_by("sort_order", "name"),
        },
    )


@access.page(*access.RECORD_READERS)
def person(request: HttpRequest, worker_id: str) -> HttpResponse:
    user = access.official_of(request)
    worker = worker_get(user=user, worker_id=worker_id)
    may_correct = access.may(user, access.RECORD_WRITERS)
    form = None
    if request.method == "POST":
        if not may_correct:
            return access.forbidden(request)
        form = CorrectionForm(request.POST)
        if form.is_valid():
            try:
                worker_services.worker_update(
                    actor=access.actor_of(request),
                    worker_id=worker.id,
                    patch=form.patch(),
                    if_match=form.cleaned_data["version"],
                )
            except ServiceError as refusal:
                messages.error(request, str(refusal.message))
                for field, problems in (refusal.details.get("fields") or {}).items():
                    name = FIELD_OF.get(field, field)
                    form.add_error(name if name in form.fields else None, [str(p) for p in problems])
            else:
                messages.success(request, _("The record was corrected."))
                return redirect("panel:person", worker_id=worker.id)
    full_nik = may_see_full_nik(user, worker.village_id)
    audit_view(access.actor_of(request), worker, full_nik=full_nik, page="panel:person")
    if may_correct and form is None:
        form = CorrectionForm(
            initial={
                "version": worker.version,
                "full_name": worker.full_name,
                "birth_date": worker.birth_date,
                "sex": worker.sex,
                "phone": worker.phone,
                "street": worker.address_street,
                "dusun": worker.address_dusun,
                "rt": worker.address_rt,
                "rw": worker.address_rw,
                "occupation": worker.occupation_id,
                "monthly_income": worker.monthly_income,
            }
        )
    enrolments = list(enrolment_selectors.enrolment_list(user=user, worker=worker.id).order_by("-created_at"))
    claim = (
        deaths.claims_visible(user=user).filter(worker_id=worker.id).first()
        if access.may(user, deaths.CLAIM_ROLES)
        else None
    )
    heirs = [
        {**heir, "nik": heir.get("nik") if full_nik else mask_nik(heir.get("nik") or "")}
        for heir in worker.heirs
        if isinstance(heir, dict)
    ]
    return render(
        request,
        "panel/person.html",
        {
            "claim": claim,
            "claim_answer": claim_answer(claim) if claim else "",
            "may_report_death": access.may(user, deaths.DEATH_ROLES),
            "worker": worker,
            "nik": worker.nik if full_nik else mask_nik(worker.nik),
            "kk": worker.kk_number if full_nik else mask_nik(worker.kk_number),
            "heirs": heirs,
            "warnings": warning_words(worker.warnings, worker.needs_correction),
            "enrolments": enrolments,
            "history": history(user=user, worker=worker, enrolment_ids=[e.id for e in enrolments]),
            "form": form,
        },
    )
