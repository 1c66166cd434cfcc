"""Target: supervisors set each area's target workers and budget for a year (the same service as
PUT /api/v1/areas/{code}/targets/{year})."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from panel import access
from panel.params import year_param
from panel.selectors import targets_below
from villages import services as village_services
from villages.models import Area, Role
from villages.scope import get_scoped_or_404

TARGET_SETTERS = (Role.SUPERVISOR,)


class TargetForm(forms.Form):
    area = forms.CharField(max_length=13)
    year = forms.IntegerField(min_value=2000, max_value=2100)
    target_workers = forms.IntegerField(min_value=0, max_value=100_000_000, label=gettext_lazy("Target workers"))
    budget_idr = forms.IntegerField(min_value=0, max_value=10**15, label=gettext_lazy("Budget (Rp)"))


@access.page(*TARGET_SETTERS)
def targets(request: HttpRequest) -> HttpResponse:
    user = access.official_of(request)
    if request.method == "POST":
        form = TargetForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Enter whole numbers of workers and rupiah."))
            return redirect(f"{request.path}?tahun={request.POST.get('year', '')}")
        data = form.cleaned_data
        area = get_scoped_or_404(Area.objects.all(), user, "code", code=data["area"])
        village_services.area_target_set(
            actor=user,
            area=area,
            year=data["year"],
            target_workers=data["target_workers"],
            budget_idr=data["budget_idr"],
        )
        messages.success(request, _("The target of %(area)s was saved.") % {"area": area.name})
        return redirect(f"{request.path}?tahun={data['year']}")
    year = year_param(request)
    return render(request, "panel/targets.html", {"rows": targets_below(user=user, year=year), "year": year})
