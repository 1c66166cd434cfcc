"""Beranda: the caller's area at a glance, each figure a link to its list."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from enrolment.reports.coverage import coverage_report
from panel import access
from panel.charts import bars
from panel.selectors import home_tiles
from villages.models import Role
from villages.scope import scope_of


def home_area(user: access.User) -> str | None:
    """The area the Beranda shows: the caller's one assignment (several or all: none)."""
    scope = scope_of(user)
    return scope.codes[0] if not scope.everything and len(scope.codes) == 1 else None


@access.page(*access.ALL_ROLES)
def home(request: HttpRequest) -> HttpResponse:
    user = access.official_of(request)
    if user.role == Role.VIEWER and not user.is_admin:
        return redirect("panel:report")  # viewers see reports and nothing else
    year = timezone.localdate().year
    area = home_area(user)
    coverage = None
    if area:
        try:
            coverage = coverage_report(user=user, area=area, year=year, group_by=None)["total"]
        except Http404:
            coverage = None
    chart = []
    if coverage:
        chart = bars(
            [
                (_("Active participants"), coverage["active_enrolments"], coverage["target_workers"]),
                (_("Annual contributions (Rp)"), coverage["annual_contribution_idr"], coverage["budget_idr"]),
            ]
        )
    tiles = home_tiles(user=user)
    return render(
        request, "panel/home.html", {"coverage": coverage, "chart": chart, "tiles": tiles, "year": year, "area": area}
    )
