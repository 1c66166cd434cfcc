"""Tindak lanjut NIK: the people whose NIK needs following up with the civil registry (no NIK
yet, not found at Dukcapil, or not matching it), village by village, each linked to their page.
The same list as GET /api/v1/workers?nik_status=pending,not_found,mismatch."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from panel import access
from villages.audit import mask_nik
from workers.models import NIK_FOLLOW_UP, NikStatus
from workers.permissions import audit_list
from workers.selectors import worker_list

PAGE_SIZE = 50
NO_NIK = "\N{EN DASH}"


class FollowUpForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("All to follow up")), *[(s.value, s.label) for s in NIK_FOLLOW_UP]],
        label=gettext_lazy("NIK status"),
    )
    area = forms.CharField(required=False, max_length=13, label=gettext_lazy("Village or area code"))


@access.page(*access.RECORD_READERS)
def follow_up(request: HttpRequest) -> HttpResponse:
    user = access.official_of(request)
    form = FollowUpForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    statuses = [filters["status"]] if filters.get("status") else [s.value for s in NIK_FOLLOW_UP]
    workers = worker_list(user=user, area=filters.get("area"), nik_status=statuses).select_related("village")
    page = Paginator(workers.order_by("village_id", "full_name", "id"), PAGE_SIZE).get_page(request.GET.get("halaman"))
    audit_list(
        access.actor_of(request),
        "worker",
        count=len(page.object_list),
        filters={"nik_status": ",".join(statuses), **filters},
        people=((w.id, w.village_id) for w in page.object_list),
    )
    labels = dict(NikStatus.choices)
    rows = [
        {"worker": w, "nik": mask_nik(w.nik) if w.nik else NO_NIK, "status": labels.get(w.nik_status, w.nik_status)}
        for w in page.object_list
    ]
    return render(request, "panel/follow_up.html", {"form": form, "rows": rows, "page": page})
