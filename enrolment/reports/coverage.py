"""Coverage reports: per regency, district or village of an area, against its targets.

Definitions (also in the OpenAPI description of GET /api/v1/reports/coverage):
- The **budget year** is the enrolment's `budget_year` (who pays for which year), `year` in the
  query; it defaults to the current year in Asia/Jakarta.
- **registered_workers**: workers not deleted, living in the area now (people have no year);
  `workers_needing_correction` counts those among them still flagged.
- **live_enrolments**: the year's enrolments that are draft, submitted, verified, queued or active,
  not deleted and not flagged `needs_correction` (the model's "live": one per person at most).
- **active_enrolments**: live and `active` (the registry issued a KPJ number): people covered.
- **coverage_percent**: active ÷ target x 100, two decimals, half up; null without a target.
- **monthly/annual_contribution_idr**: sums of the live enrolments' `monthly_contribution` (first
  month) and `annual_contribution` (twelve months at each month's rates): the money the year's
  funders are committed to. Integers.
- **target_workers / budget_idr**: the area's own target for the year; when it has none, the sum
  of the nearest targets set below it (e.g. a province without its own target adds up its
  regencies'); null when none is set anywhere in it.
- **allocated_idr / committed_idr**: the funding decrees of the year (enrolment.models,
  FundingAllocation) whose area lies in the row's area: their amounts, and what they commit (the
  annual amounts of their verified, queued and active enrolments). A decree of a wider area than
  the rows (a province's, in a report by regency) counts in the total only.
- **by_status**: every status of the year's enrolments (not deleted, not flagged), rejected and
  ended included; **by_funding_source**: live enrolments; **by_occupation**: registered workers.

Aggregation is SQL, GROUP BY the area-code prefix (codes are materialised paths), over the
running counts PostgreSQL keeps per village (enrolment/reports/models.py): enrolments carry
their village, so their counts need no join to workers. See COUNT_SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, connections, router
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid
from enrolment.models import LIVE_STATUSES, Enrolment, FundingAllocation, Status
from villages.models import LEVEL_BY_DEPTH, Area, AreaLevel, AreaTarget, User
from villages.scope import scope_of

GROUP_LEVELS = (AreaLevel.REGENCY, AreaLevel.DISTRICT, AreaLevel.VILLAGE)
# The country report (an admin's, no area) may also group by province; an area's report may not.
COUNTRY_GROUP_LEVELS = (AreaLevel.PROVINCE, *GROUP_LEVELS)
DEPTH_OF_LEVEL = {level: depth for depth, level in LEVEL_BY_DEPTH.items()}
# Characters of a code at each depth: "" (the country), "17", "17.04", "17.04.01", "17.04.01.2001".
PREFIX_LENGTH = {0: 0, 1: 2, 2: 5, 3: 8, 4: 13}

LIVE_VALUES = frozenset(str(s) for s in LIVE_STATUSES)

# Two sources give the same rows: (area prefix, status, funding source, count, monthly, annual)
# and (area prefix, occupation, needs_correction, count).
# - "counts": the running counts PostgreSQL keeps (enrolment/reports/models.py): a few rows per
#   village whatever the number of people. What the report reads on PostgreSQL.
# - "tables": the same GROUP BY over the enrolments and workers themselves. What SQLite (the
#   embedded mode) reads, and what the tests and the benchmark check the counts against.
# - "provinces": the running counts summed by province (same triggers): what the country report
#   by province reads on PostgreSQL, a few rows per province instead of per village (83,762
#   villages, docs/national.md). Only for that report: its rows are provinces whatever the prefix.
# substr() works on both databases; area codes are materialised paths, so a prefix is an area.
COUNT_SQL = {
    "counts": (
        """
SELECT substr(village, 1, %(prefix)s), status, funding_source, sum(n), sum(monthly), sum(annual)
  FROM enrolment_coverage_enrolment
 WHERE budget_year = %(year)s AND (village = %(area)s OR village LIKE %(below)s)
 GROUP BY 1, 2, 3
""",
        """
SELECT substr(village, 1, %(prefix)s), occupation, needs_correction, sum(n)
  FROM enrolment_coverage_worker
 WHERE village = %(area)s OR village LIKE %(below)s
 GROUP BY 1, 2, 3
""",
    ),
    "provinces": (
        """
SELECT province, status, funding_source, sum(n), sum(monthly), sum(annual)
  FROM enrolment_coverage_enrolment_province
 WHERE budget_year = %(year)s
 GROUP BY 1, 2, 3
""",
        """
SELECT province, occupation, needs_correction, sum(n)
  FROM enrolment_coverage_worker_province
 GROUP BY 1, 2, 3
""",
    ),
    "tables": (
        """
SELECT substr(village_id, 1, %(prefix)s), status, coalesce(funding_source_id, ''), count(*),
       coalesce(sum(monthly_contribution), 0), coalesce(sum(annual_contribution), 0)
  FROM enrolment_enrolment
 WHERE budget_year = %(year)s AND deleted_at IS NULL AND needs_correction = false
   AND (village_id = %(area)s OR village_id LIKE %(below)s)
 GROUP BY 1, 2, 3
""",
        """
SELECT substr(village_id, 1, %(prefix)s), coalesce(occupation_id, ''), needs_correction, count(*)
  FROM workers_worker
 WHERE deleted_at IS NULL AND (village_id = %(area)s OR village_id LIKE %(below)s)
 GROUP BY 1, 2, 3
""",
    ),
}


def default_source() -> str:
    return "counts" if connection.vendor == "postgresql" else "tables"


@dataclass
class CoverageRow:
    code: str
    name: str
    level: str
    target_workers: int | None = None
    budget_idr: int | None = None
    registered_workers: int = 0
    workers_needing_correction: int = 0
    live_enrolments: int = 0
    active_enrolments: int = 0
    monthly_contribution_idr: int = 0
    annual_contribution_idr: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_occupation: dict[str, int] = field(default_factory=dict)
    by_funding_source: dict[str, int] = field(default_factory=dict)
    allocated_idr: int = 0
    committed_idr: int = 0

    @property
    def coverage_percent(self) -> float | None:
        if not self.target_workers:
            return None
        percent = Decimal(self.active_enrolments * 100) / Decimal(self.target_workers)
        return float(percent.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    def add(self, other: CoverageRow) -> None:
        for name in ("registered_workers", "workers_needing_correction", "live_enrolments", "active_enrolments",
                     "monthly_contribution_idr", "annual_contribution_idr"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("by_status", "by_occupation", "by_funding_source"):
            mine: dict[str, int] = getattr(self, name)
            for key, value in getattr(other, name).items():
                mine[key] = mine.get(key, 0) + value

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "target_workers": self.target_workers,
            "budget_idr": self.budget_idr,
            "registered_workers": self.registered_workers,
            "workers_needing_correction": self.workers_needing_correction,
            "live_enrolments": self.live_enrolments,
            "active_enrolments": self.active_enrolments,
            "coverage_percent": self.coverage_percent,
            "monthly_contribution_idr": self.monthly_contribution_idr,
            "annual_contribution_idr": self.annual_contribution_idr,
            "allocated_idr": self.allocated_idr,
            "committed_idr": self.committed_idr,
            "by_status": dict(sorted(self.by_status.items())),
            "by_occupation": dict(sorted(self.by_occupation.items())),
            "by_funding_source": dict(sorted(self.by_funding_source.items())),
        }


@dataclass(frozen=True)
class ReportRoot:
    """The area a report covers: an Area's code, name and level, or the country (code "")."""

    code: str
    name: str
    level: str


# The root of the country report: no Area row stands for it, and its code is every code's prefix.
COUNTRY = ReportRoot(code="", name="Indonesia", level="country")


def _depth(code: str) -> int:
    return code.count(".") + 1 if code else 0


def _below(code: str) -> str:
    """The code prefix of every area strictly inside `code` ("" for the country: all of them)."""
    return code + "." if code else ""


def _targets_for(
    codes: list[str], depth: int, targets: dict[str, tuple[int, int]]
) -> dict[str, tuple[int, int] | None]:
    """Each code's target: its own, else the sum of the nearest targets below it (see above)."""
    out: dict[str, tuple[int, int] | None] = {code: targets.get(code) for code in codes}
    sums: dict[str, list[int]] = {}
    for code, (workers, budget) in targets.items():
        if _depth(code) <= depth:
            continue
        group = code[: PREFIX_LENGTH[depth]]
        if group in targets:
            continue
        # Counted only if no target sits between the group and this one (the nearer one counts).
        parts = code.split(".")
        between = (".".join(parts[:d]) for d in range(depth + 1, len(parts)))
        if any(ancestor in targets for ancestor in between):
            continue
        total = sums.setdefault(group, [0, 0])
        total[0] += workers
        total[1] += budget
    for group, (workers, budget) in sums.items():
        if group in out and out[group] is None:
            out[group] = (workers, budget)
    return out


def coverage_report(
    *, user: User, area: str | None, year: int | None, group_by: str | None, source: str | None = None
) -> dict[str, Any]:
    """The coverage of `area` (which the caller must see whole: Http404 otherwise), per group.

    `source` ("counts", "provinces" or "tables", see COUNT_SQL) is for tests and benchmarks; by
    default the counts on PostgreSQL (summed by province for the country by province) and the
    tables elsewhere. Without `area`, a caller who sees everything
    (an admin) gets the country report: root COUNTRY, by province unless `group_by` says lower.

    Raises FieldsInvalid for a missing area (when the caller has several), an unknown group
    level or one above the area's own.
    """
    scope = scope_of(user)
    root: ReportRoot
    if not area and scope.everything:
        root = COUNTRY  # an admin's report without an area: the whole country, by province
    else:
        if not area:
            if len(scope.codes) != 1:
                raise FieldsInvalid(fields={"area": [_("Choose the area of the report.")]})
            area = scope.codes[0]
        if not scope.covers(area):
            raise Http404
        found = Area.objects.filter(code=area).values_list("code", "name", "level").first()
        if found is None:
            raise Http404
        root = ReportRoot(*found)
    root_depth = _depth(root.code)
    if group_by is None:
        level: AreaLevel | None = LEVEL_BY_DEPTH[min(root_depth + 1, 4)]
    else:
        level = AreaLevel(group_by) if group_by in AreaLevel.values else None
    allowed = COUNTRY_GROUP_LEVELS if root is COUNTRY else GROUP_LEVELS
    if level is None or level not in allowed or DEPTH_OF_LEVEL[level] < root_depth:
        raise FieldsInvalid(
            fields={"group_by": [_("Group by regency, district or village, at or below the area's own level.")]}
        )
    group_by = str(level)
    depth = DEPTH_OF_LEVEL[level]
    year = year or timezone.localdate().year

    groups = {
        code: CoverageRow(code=code, name=name, level=group_by)
        for code, name in Area.objects.filter(level=group_by, active=True)
        .filter(code__startswith=_below(root.code))
        .values_list("code", "name")
    }
    if root_depth == depth:
        groups = {root.code: CoverageRow(code=root.code, name=root.name, level=root.level)}
    params: dict[str, int | str] = {
        "prefix": PREFIX_LENGTH[depth],
        "area": root.code,
        "below": _below(root.code) + "%",
        "year": year,
    }
    missing: set[str] = set()

    def row_of(code: str) -> CoverageRow:
        row = groups.get(code)
        if row is None:  # data in an area that is no longer active
            missing.add(code)
            row = groups[code] = CoverageRow(code=code, name="", level=group_by)
        return row

    if source is None:
        source = default_source()
        if source == "counts" and root is COUNTRY and depth == 1:
            source = "provinces"  # the same counts, already summed by province
    if source == "provinces" and not (root is COUNTRY and depth == 1):
        raise ValueError("the province counts only answer the country report by province")
    enrolment_sql, worker_sql = COUNT_SQL[source]
    # Raw SQL is not routed: ask the router, or the counts would always be read on the primary
    # while the areas beside them come from the replica (config/replicas.py).
    with connections[router.db_for_read(Enrolment)].cursor() as cursor:
        cursor.execute(enrolment_sql, params)
        for code, status, funding, count, monthly, annual in cursor.fetchall():
            if not count and not monthly and not annual:
                continue  # counts that cancelled out
            row = row_of(code)
            row.by_status[status] = row.by_status.get(status, 0) + int(count)
            if status in LIVE_VALUES:
                row.live_enrolments += int(count)
                row.monthly_contribution_idr += int(monthly)
                row.annual_contribution_idr += int(annual)
                key = funding or "none"
                row.by_funding_source[key] = row.by_funding_source.get(key, 0) + int(count)
                if status == Status.ACTIVE:
                    row.active_enrolments += int(count)
        cursor.execute(worker_sql, params)
        for code, occupation, flagged, count in cursor.fetchall():
            if not count:
                continue
            row = row_of(code)
            row.registered_workers += int(count)
            if flagged:
                row.workers_needing_correction += int(count)
            key = occupation or "none"
            row.by_occupation[key] = row.by_occupation.get(key, 0) + int(count)
    for row in groups.values():  # a group whose counts cancelled out (e.g. all moved away)
        for mapping in (row.by_status, row.by_funding_source, row.by_occupation):
            for key in [k for k, v in mapping.items() if not v]:
                del mapping[key]
    if missing:  # data in areas no longer active: still reported, under their recorded names
        for code, name in Area.objects.filter(code__in=missing).values_list("code", "name"):
            groups[code].name = name

    targets = {
        code: (workers, budget)
        for code, workers, budget in AreaTarget.objects.filter(year=year)
        .filter(area__code__startswith=_below(root.code))
        .values_list("area_id", "target_workers", "budget_idr")
    }
    own = AreaTarget.objects.filter(year=year, area_id=root.code).values_list("target_workers", "budget_idr").first()
    if own is not None:
        targets[root.code] = own
    for code, target in _targets_for(list(groups), depth, targets).items():
        if target is not None:
            groups[code].target_workers, groups[code].budget_idr = target

    total = CoverageRow(code=root.code, name=root.name, level=root.level)
    for row in groups.values():
        total.add(row)
    decrees = (
        FundingAllocation.objects.filter(budget_year=year)
        .filter(Q(area__code=root.code) | Q(area__code__startswith=_below(root.code)))
        .values_list("area_id", "amount_idr", "committed_idr")
    )
    for code, amount, committed in decrees:
        total.allocated_idr += amount
        total.committed_idr += committed
        group = groups.get(code[: PREFIX_LENGTH[depth]]) if _depth(code) >= depth else None
        if group is not None:
            group.allocated_idr += amount
            group.committed_idr += committed
    root_target = _targets_for([root.code], root_depth, targets)[root.code]
    if root_target is not None:
        total.target_workers, total.budget_idr = root_target
    return {
        "area": {"code": root.code, "name": root.name, "level": root.level},
        "year": year,
        "group_by": group_by,
        "generated_at": timezone.localtime().isoformat(),
        "total": total.as_dict(),
        "results": [groups[code].as_dict() for code in sorted(groups)],
    }
