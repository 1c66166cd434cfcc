"""Beranda: the caller's area at a glance, each figure a link to its list."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from enrolment import selectors
from enrolment.funding import deaths
from enrolment.models import Status
from enrolment.registry.models import BatchStatus
from enrolment.registry.selectors import registry_batches_visible
from enrolment.reports.coverage import coverage_report
from panel import access
from panel.charts import bars
from panel.selectors import allocations_nearly_exhausted, claims_filtered
from panel.views.budget import BUDGET_READERS
from villages.models import Role
from villages.scope import scope_of
from villages.selectors import device_list
from workers.selectors import worker_list

STALE_DEVICE_DAYS = 7


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
    tiles = []
    if access.may(user, access.QUEUE_READERS):
        waiting = selectors.enrolment_list(user=user, status={Status.SUBMITTED}).count()
        tiles.append({"label": _("Waiting for verification"), "count": waiting, "url": "panel:queue", "query": ""})
    corrections = worker_list(user=user).filter(Q(needs_correction=True)).count()
    tiles.append(
        {"label": _("Records needing correction"), "count": corrections, "url": "panel:people", "query": "?perbaiki=1"}
    )
    if access.may(user, access.QUEUE_READERS):
        failed = registry_batches_visible(user=user).filter(status=BatchStatus.FAILED).count()
        tiles.append({"label": _("Failed registry batches"), "count": failed, "url": "panel:registry", "query": ""})
    if access.may(user, (Role.SUPERVISOR,)):
        since = timezone.now() - dt.timedelta(days=STALE_DEVICE_DAYS)
        stale = (
            device_list(user=user)
            .filter(revoked_at__isnull=True)
            .filter(Q(last_pull_at__lt=since) | Q(last_pull_at__isnull=True))
            .count()
        )
        tiles.append({"label": _("Devices not synced for 7 days"), "count": stale, "url": "panel:devices", "query": ""})
    if access.may(user, deaths.CLAIM_ROLES):
        overdue = claims_filtered(user=user, overdue=True).count()
        tiles.append({"label": _("Claims with overdue documents"), "count": overdue, "url": "panel:claims",
                      "query": "?terlambat=on"})  # fmt: skip
    if access.may(user, BUDGET_READERS):
        nearly = allocations_nearly_exhausted(user=user).count()
        tiles.append({"label": _("Decrees nearly exhausted"), "count": nearly, "url": "panel:budget", "query": ""})
    return render(
        request, "panel/home.html", {"coverage": coverage, "chart": chart, "tiles": tiles, "year": year, "area": area}
    )
