"""Laporan: coverage with drill-down province → regency → district → village, chart, table and
XLSX, from the same coverage_report as GET /reports/coverage."""

from __future__ import annotations

import io
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from openpyxl import Workbook

from config.errors import ServiceError
from enrolment.reports.coverage import coverage_report
from panel import access
from panel.charts import bars
from panel.params import year_param
from villages.models import Area, AreaLevel
from villages.scope import scope_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _area_and_year(request: HttpRequest) -> tuple[str | None, int]:
    user = access.official_of(request)
    area = request.GET.get("area") or None
    if area is None:
        scope = scope_of(user)
        if not scope.everything and scope.codes:
            area = scope.codes[0]
        else:
            area = (
                Area.objects.filter(level=AreaLevel.PROVINCE, active=True)
                .order_by("code")
                .values_list("code", flat=True)
                .first()
            )
    return area, year_param(request)


def _report(request: HttpRequest) -> dict[str, Any]:
    area, year = _area_and_year(request)
    return coverage_report(user=access.official_of(request), area=area, year=year, group_by=None)


def _trail(user: access.User, code: str) -> list[dict[str, str]]:
    """The areas above `code` the caller may open, for the drill-up links."""
    parts = code.split(".")
    codes = [".".join(parts[:n]) for n in range(1, len(parts))]
    scope = scope_of(user)
    names = dict(Area.objects.filter(code__in=codes).values_list("code", "name"))
    return [{"code": c, "name": names.get(c, c)} for c in codes if scope.covers(c)]


@access.page(*access.ALL_ROLES)
def report(request: HttpRequest) -> HttpResponse:
    try:
        data = _report(request)
    except ServiceError as refusal:
        return render(request, "panel/report.html", {"error": str(refusal.message)}, status=400)
    user = access.official_of(request)
    rows = data["results"]
    chart = bars([(r["name"] or r["code"], r["active_enrolments"], r["target_workers"]) for r in rows][:40])
    return render(
        request,
        "panel/report.html",
        {
            "report": data,
            "rows": rows,
            "chart": chart,
            "trail": _trail(user, data["area"]["code"]),
            "year": data["year"],
        },
    )


@access.page(*access.ALL_ROLES)
def report_xlsx(request: HttpRequest) -> HttpResponse:
    try:
        data = _report(request)
    except ServiceError as refusal:
        return render(request, "panel/report.html", {"error": str(refusal.message)}, status=400)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Coverage"))
    sheet.append([_("Coverage"), data["area"]["code"], data["area"]["name"], data["year"]])
    headers = [
        _("Code"), _("Area"), _("Target workers"), _("Registered workers"), _("Live enrolments"),
        _("Active enrolments"), _("Coverage %"), _("Monthly contributions (Rp)"), _("Annual contributions (Rp)"),
        _("Budget (Rp)"),
    ]  # fmt: skip
    sheet.append(headers)
    for row in [*data["results"], {**data["total"], "name": _("Total")}]:
        sheet.append([
            row["code"], row["name"], row["target_workers"], row["registered_workers"], row["live_enrolments"],
            row["active_enrolments"], row["coverage_percent"], row["monthly_contribution_idr"],
            row["annual_contribution_idr"], row["budget_idr"],
        ])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="cakupan-{data["area"]["code"]}-{data["year"]}.xlsx"'
    return response
