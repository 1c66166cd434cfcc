"""A renewal's plan (the whole of a dry run, the first step of a real one): every candidate's
decision stored as the job's rows, with the totals. Who is a candidate, the reasons for leaving
one out and their precedence, and the order seats are served in: the package's docstring."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid
from enrolment.contributions import Pricing, RateMissing, RateTable
from enrolment.funding.models import DeathReport, JobStatus, LeftOutReason, RenewalJob, RenewalOutcome, RenewalRow
from enrolment.models import LIVE_STATUSES, Enrolment, FundingAllocation, RegistryStatus, Status
from villages.scope import code_within
from workers.models import FundingSource, Occupation

ORDER = "earliest_enrolment"  # coverage_start, created_at, id of last year's enrolment


def renewal_id(enrolment_id: str, allocation_id: str) -> str:
    """The new year's enrolment id: the same predecessor and decree always give the same id."""
    return "rn" + hashlib.sha256(f"{enrolment_id}\x00{allocation_id}".encode()).hexdigest()[:30]


@dataclass(frozen=True)
class Candidate:
    enrolment_id: str
    worker_id: str
    village_id: str  # where the person lives now
    participant_number: str
    status: str
    registry_status: str
    segment: str
    programs: tuple[str, ...]
    birth_date: dt.date | None
    monthly_income: int
    occupation_id: str
    successor: str  # the new year's enrolment already there, or ""


def _candidates(job: RenewalJob) -> list[Candidate]:
    allocation = job.to_allocation
    area = job.area_id
    in_area = Q(village__code=area) | Q(village__code__startswith=area + ".")
    # Moved-out people's enrolments followed them out of the area; last year's decree names them.
    from_area_decree = Q(allocation__area__code=area) | Q(allocation__area__code__startswith=area + ".")
    rows = (
        Enrolment.objects.filter(
            in_area | from_area_decree,
            budget_year=job.from_budget_year,
            funding_source_id=allocation.funding_source_id,
            deleted_at__isnull=True,
            needs_correction=False,
        )
        .filter(Q(status=Status.ACTIVE) | (Q(status=Status.ENDED) & ~Q(registry_number="")))
        .order_by("coverage_start", "created_at", "id")
        .values_list(
            "id", "worker_id", "worker__village_id", "registry_number", "status", "registry_status", "segment",
            "programs", "worker__birth_date", "worker__monthly_income", "worker__occupation_id", "renewed_by__id",
        )
    )  # fmt: skip
    live_next_year = dict(
        Enrolment.objects.filter(
            budget_year=allocation.budget_year,
            status__in=LIVE_STATUSES,
            deleted_at__isnull=True,
            needs_correction=False,
        )
        .filter(in_area | from_area_decree)
        .values_list("worker_id", "id")
    )
    return [
        Candidate(
            enrolment_id=r[0], worker_id=r[1], village_id=r[2], participant_number=r[3], status=r[4],
            registry_status=r[5], segment=r[6], programs=tuple(r[7] or ()), birth_date=r[8],
            monthly_income=r[9] or 0, occupation_id=r[10] or "", successor=r[11] or live_next_year.get(r[1], ""),
        )
        for r in rows.iterator(chunk_size=5000)
    ]  # fmt: skip


def _age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def plan(job: RenewalJob) -> None:
    """Decides every candidate and stores the decisions as the job's rows, with the totals."""
    allocation = FundingAllocation.objects.get(id=job.to_allocation_id)
    start = allocation.period_start
    candidates = _candidates(job)
    # Every reported death (a short table next to the participants): cheaper than sending 80,000 ids.
    dead = set(DeathReport.objects.values_list("worker_id", flat=True))
    rates = RateTable.load()
    self_paid = FundingSource.objects.get(code=allocation.funding_source_id).self_paid
    groups = dict(Occupation.objects.values_list("code", "group"))
    seats_left = allocation.quota_workers - allocation.committed_workers
    money_left = allocation.amount_idr - allocation.committed_idr
    stop: str = ""  # once set, everyone further down is left out for it
    rows: list[RenewalRow] = []
    reasons: dict[str, int] = {}
    carried = cost = 0
    for position, c in enumerate(candidates, start=1):
        row = RenewalRow(
            job=job, position=position, enrolment_id=c.enrolment_id, worker_id=c.worker_id, village_id=c.village_id,
            participant_number=c.participant_number, outcome=RenewalOutcome.LEFT_OUT,
        )  # fmt: skip
        rows.append(row)
        if c.worker_id in dead or c.registry_status == RegistryStatus.DECEASED:
            row.reason = LeftOutReason.DECEASED
        elif c.status == Status.ENDED:
            row.reason = LeftOutReason.ENDED
        elif not code_within(c.village_id, job.area_id):
            row.reason = LeftOutReason.MOVED_OUT
        elif c.birth_date is not None and _age_on(c.birth_date, start) > settings.ENROLMENT_MAX_AGE:
            row.reason = LeftOutReason.OVER_AGE
        if row.reason:
            reasons[row.reason] = reasons.get(row.reason, 0) + 1
            continue
        pricing = Pricing(
            segment=c.segment,
            programs=c.programs,
            monthly_income=c.monthly_income,
            occupation_group=groups.get(c.occupation_id, ""),
            self_paid=self_paid,
        )
        try:
            first, annual = rates.year(pricing, start)
        except RateMissing:
            raise FieldsInvalid(
                fields={"to_allocation": [_("No contribution rule is in force for the decree's period.")]}
            ) from None
        row.monthly_idr, row.cost_idr, row.detail = first.total, annual, {**first.as_detail(), "annual": annual}
        if c.successor:
            row.outcome, row.new_enrolment_id, row.already_renewed = RenewalOutcome.CARRIED, c.successor, True
        elif not stop and seats_left < 1:
            stop = LeftOutReason.OVER_QUOTA
        elif not stop and annual > money_left:
            stop = LeftOutReason.OVER_BUDGET
        if row.outcome == RenewalOutcome.LEFT_OUT:
            if stop:
                row.reason = stop
                reasons[stop] = reasons.get(stop, 0) + 1
                continue
            row.outcome, row.new_enrolment_id = RenewalOutcome.CARRIED, renewal_id(c.enrolment_id, allocation.id)
            seats_left -= 1
            money_left -= annual
        carried += 1
        cost += row.cost_idr
    with transaction.atomic():
        RenewalRow.objects.filter(job=job).delete()  # a plan interrupted before it committed left nothing; safe
        _store_rows(rows)
        RenewalJob.objects.filter(id=job.id).update(
            total_rows=len(rows),
            processed_rows=0,
            carried_count=carried,
            left_out_count=len(rows) - carried,
            cost_idr=cost,
            left_out_by_reason=dict(sorted(reasons.items())),
            status=JobStatus.COMPLETED if job.dry_run else JobStatus.RUNNING,
            finished_at=timezone.now() if job.dry_run else None,
        )


ROW_COLUMNS = ("job_id", "position", "enrolment_id", "worker_id", "village_id", "participant_number", "outcome",
               "reason", "monthly_idr", "cost_idr", "detail", "new_enrolment_id", "already_renewed")  # fmt: skip


def _store_rows(rows: list[RenewalRow]) -> None:
    """The plan's rows: COPY on PostgreSQL (80,000 rows in a second or two, where INSERTs of
    bound parameters take several times that), bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        RenewalRow.objects.bulk_create(rows, batch_size=2000)
        return
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor() as c, c.copy(f"COPY enrolment_renewalrow ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((
                    r.job_id, r.position, r.enrolment_id, r.worker_id, r.village_id, r.participant_number, r.outcome,
                    r.reason, r.monthly_idr, r.cost_idr, json.dumps(r.detail, separators=(",", ":")),
                    r.new_enrolment_id, r.already_renewed,
                ))  # fmt: skip
