"""Cleaning an enrolment record and pricing it. Plain Python, one implementation for REST,
bulk, sync and import (see workers.validation for why not DRF fields; the shared field cleaners: workers.cleaners)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ErrorDetail

from config.errors import register_error_code
from enrolment.contributions import PROGRAM_ORDER, RULE_MISSING, Pricing, RateMissing, RateTable
from enrolment.models import PAYMENT_PERIODS, FundingAllocation, Program, Segment
from enrolment.workflow import CLIENT_STATUSES
from villages.records import CLIENT_ID
from villages.scope import Scope, code_within
from workers.cleaners import clean_date, clean_id_and_version, clean_text, values_hash
from workers.models import FundingSource, Occupation, Worker

WORKER_NOT_READY = register_error_code(
    "worker_needs_correction", 400, _("The worker's own data needs correction before enrolling them.")
)
CONSENT_MISSING = register_error_code(
    "consent_missing", 400, _("Record the worker's consent before submitting the enrolment.")
)
MANDATORY_PROGRAMS = (Program.JKK, Program.JKM)
SEGMENTS = frozenset(Segment.values)
PROGRAMS = frozenset(Program.values)
EARLIEST_COVERAGE = dt.date(2015, 1, 1)

VALUE_FIELDS = (
    "worker_id", "village_id", "segment", "programs", "funding_source_id", "budget_year", "funding_decree",
    "coverage_start", "payment_period_months", "monthly_contribution", "annual_contribution", "contribution_detail",
    "allocation_id", "warnings",
)  # fmt: skip
# A warning, not an error: a budget may fund coverage that starts in another year (a December
# decree for January), but usually the year is a typo.
COVERAGE_OUTSIDE_BUDGET_YEAR = "coverage_outside_budget_year"


@dataclass
class EnrolmentRefs:
    scope: Scope
    workers: dict[str, Worker]  # live workers in scope, by id
    funding: dict[str, FundingSource]
    occupation_groups: dict[str, str]
    rates: RateTable
    today: dt.date = field(default_factory=timezone.localdate)
    # Funding decrees looked up so far, by id (None: no such decree).
    allocations: dict[str, FundingAllocation | None] = field(default_factory=dict)

    def allocation(self, allocation_id: str) -> FundingAllocation | None:
        if allocation_id not in self.allocations:
            self.allocations[allocation_id] = FundingAllocation.objects.filter(id=allocation_id).first()
        return self.allocations[allocation_id]

    @classmethod
    def load(
        cls, *, scope: Scope, worker_ids: Collection[str], extra_workers: Collection[Worker] = ()
    ) -> EnrolmentRefs:
        workers = {
            w.id: w
            for w in scope.filter(
                Worker.objects.filter(id__any=set(worker_ids), deleted_at__isnull=True), "village__code"
            )
        }
        workers.update({w.id: w for w in extra_workers})
        return cls(
            scope=scope,
            workers=workers,
            funding={f.code: f for f in FundingSource.objects.filter(active=True)},
            occupation_groups=dict(Occupation.objects.values_list("code", "group")),
            rates=RateTable.load(),
        )


@dataclass
class CleanedEnrolment:
    id: str
    values: dict[str, Any]
    status: str | None = None  # the status the client asks for (draft or submitted)
    errors: dict[str, list[ErrorDetail]] = field(default_factory=dict)
    version: int | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    def add_error(self, name: str, message: Any, code: str = "invalid") -> None:
        self.errors.setdefault(name, []).append(ErrorDetail(str(message), code=code))

    def request_hash(self) -> str:
        return values_hash({**self.values, "status": self.status})


def price(refs: EnrolmentRefs, *, worker: Worker, values: dict[str, Any]) -> None:
    """Fills monthly/annual contribution and the detail from the rate tables (KeyError-safe).

    Raises RateMissing when a program has no rule in force in the year of coverage.
    """
    funding = refs.funding[values["funding_source_id"]]
    pricing = Pricing(
        segment=values["segment"],
        programs=tuple(values["programs"]),
        monthly_income=worker.monthly_income or 0,
        occupation_group=refs.occupation_groups.get(worker.occupation_id or "", ""),
        self_paid=funding.self_paid,
    )
    first, annual = refs.rates.year(pricing, values["coverage_start"])
    values["monthly_contribution"] = first.total
    values["annual_contribution"] = annual
    values["contribution_detail"] = {**first.as_detail(), "annual": annual}


def clean_enrolment(
    data: Any, *, refs: EnrolmentRefs, record_id: str | None = None, ignore_status: bool = False
) -> CleanedEnrolment:
    """Cleans and prices one enrolment (a full record). Never raises for bad input.

    `ignore_status` (sync): a status beyond what a client may set is ignored, not an error.
    """
    if not isinstance(data, Mapping):
        cleaned = CleanedEnrolment(id=record_id or "", values={})
        cleaned.add_error("non_field_errors", _("Each record must be a JSON object."))
        return cleaned
    cleaned = CleanedEnrolment(id="", values={})
    clean_id_and_version(cleaned, data, record_id)
    values = cleaned.values

    worker_id = data.get("worker")
    worker = refs.workers.get(worker_id) if isinstance(worker_id, str) else None
    values["worker_id"] = worker.id if worker else None
    values["village_id"] = worker.village_id if worker else None
    if worker_id in (None, ""):
        cleaned.add_error("worker", _("This field is required."), "required")
    elif worker is None:
        cleaned.add_error("worker", _("No such worker in your areas."))
    elif worker.needs_correction:
        cleaned.add_error(
            "worker", _("The worker's own data needs correction before enrolling them."), WORKER_NOT_READY
        )

    segment = data.get("segment") or Segment.BPU
    segment_valid = isinstance(segment, str) and segment in SEGMENTS
    values["segment"] = segment if segment_valid else Segment.BPU
    if not segment_valid:
        cleaned.add_error("segment", _("Use BPU or PU."))

    if values["segment"] == Segment.PU and worker is not None and not worker.monthly_income:
        # PU contributions are a share of wages: without the wage every amount would be Rp 0.
        cleaned.add_error(
            "segment", _("A wage earner (PU) is priced on their wage: record the worker's monthly income first.")
        )

    programs = data.get("programs")
    if programs in (None, ""):
        programs = list(MANDATORY_PROGRAMS)
    if not isinstance(programs, list) or not all(isinstance(p, str) for p in programs):
        cleaned.add_error("programs", _('Send the programs as a list such as ["JKK", "JKM"].'))
        programs = list(MANDATORY_PROGRAMS)
    unknown = [p for p in programs if p not in PROGRAMS]
    if unknown:
        cleaned.add_error(
            "programs",
            _("Unknown programs: %(codes)s. Use JKK, JKM and optionally JHT.") % {"codes": ", ".join(unknown)},
        )
    missing = [p for p in MANDATORY_PROGRAMS if p not in programs]
    if missing:
        cleaned.add_error(
            "programs", _("JKK and JKM are mandatory; missing: %(codes)s.") % {"codes": ", ".join(missing)}
        )
    values["programs"] = [p for p in PROGRAM_ORDER if p in programs]

    allocation = _clean_allocation(cleaned, data.get("allocation"), refs=refs)
    values["allocation_id"] = allocation.id if allocation else None

    funding = data.get("funding_source")
    if funding in (None, "") and allocation is not None:
        funding = allocation.funding_source_id
    values["funding_source_id"] = funding if isinstance(funding, str) and funding in refs.funding else None
    if funding in (None, ""):
        cleaned.add_error("funding_source", _("This field is required."), "required")
    elif values["funding_source_id"] is None:
        cleaned.add_error("funding_source", _("Unknown funding source; see GET /api/v1/reference."))

    coverage_start, error = clean_date(data.get("coverage_start"), required=True)
    values["coverage_start"] = coverage_start
    if error:
        cleaned.add_error("coverage_start", error)
    elif coverage_start is not None and not EARLIEST_COVERAGE <= coverage_start <= refs.today + dt.timedelta(days=366):
        cleaned.add_error("coverage_start", _("Coverage starts between 2015 and a year from today."))

    budget_year = data.get("budget_year")
    if budget_year in (None, ""):
        budget_year = allocation.budget_year if allocation else coverage_start.year if coverage_start else None
    if budget_year is not None and (
        not isinstance(budget_year, int) or isinstance(budget_year, bool) or not 2000 <= budget_year <= 2100
    ):
        cleaned.add_error("budget_year", _("Use a year between 2000 and 2100."))
        budget_year = None
    values["budget_year"] = budget_year
    values["warnings"] = (
        [COVERAGE_OUTSIDE_BUDGET_YEAR]
        if coverage_start is not None and budget_year is not None and coverage_start.year != budget_year
        else []
    )

    decree, error = clean_text(data.get("funding_decree"), 200)
    values["funding_decree"] = decree or (allocation.decree_number if allocation else "")
    if error:
        cleaned.add_error("funding_decree", error)
    if allocation is not None:
        _check_allocation_fits(cleaned, allocation)

    period = data.get("payment_period_months")
    if period in (None, ""):
        period = 1
    if not isinstance(period, int) or isinstance(period, bool) or period not in PAYMENT_PERIODS:
        cleaned.add_error("payment_period_months", _("Pay for 1, 3, 6 or 12 months."))
        period = 1
    values["payment_period_months"] = period

    status = data.get("status")
    if status not in (None, ""):
        if isinstance(status, str) and status in CLIENT_STATUSES:
            cleaned.status = status
        elif not ignore_status:
            cleaned.add_error("status", _("New records are draft or submitted; use the actions to move them further."))

    values["monthly_contribution"], values["annual_contribution"], values["contribution_detail"] = 0, 0, {}
    if cleaned.valid and worker is not None:
        try:
            price(refs, worker=worker, values=values)
        except RateMissing as missing_rate:
            cleaned.add_error(
                "programs",
                _("No %(program)s rule is in force for %(month)s; an administrator must add it.")
                % {"program": missing_rate.program, "month": missing_rate.month.strftime("%Y-%m")},
                RULE_MISSING,
            )
    return cleaned


def _clean_allocation(cleaned: CleanedEnrolment, raw: Any, *, refs: EnrolmentRefs) -> FundingAllocation | None:
    if raw in (None, ""):
        return None
    allocation = refs.allocation(raw) if isinstance(raw, str) and CLIENT_ID.fullmatch(raw) else None
    if allocation is None:
        cleaned.add_error("allocation", _("No such funding decree."))
    return allocation


def _check_allocation_fits(cleaned: CleanedEnrolment, allocation: FundingAllocation) -> None:
    """The decree must pay for this person: same funder and budget year, their village inside
    its area, cover starting within its period."""
    values = cleaned.values
    if values["funding_source_id"] != allocation.funding_source_id:
        cleaned.add_error("allocation", _("The decree is paid by another funding source."))
    if values["budget_year"] != allocation.budget_year:
        cleaned.add_error("allocation", _("The decree is for another budget year."))
    village = values.get("village_id")
    if village and not code_within(village, allocation.area_id):
        cleaned.add_error("allocation", _("The decree does not cover this person's village."))
    start = values.get("coverage_start")
    if start is not None and not allocation.period_start <= start.replace(day=1) <= allocation.period_end:
        cleaned.add_error("coverage_start", _("Coverage must start within the decree's period."))
