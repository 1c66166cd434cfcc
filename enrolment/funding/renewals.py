"""Renewal (perpanjangan): an area's participants of one budget year carried into a new decree.

A job is planned once, then run in chunks:

    queued ─► running (plan: every candidate's decision in rows) ─► chunks ─► completed
                 ▲                                                    │ a worker died
                 └────────────── lease expired (sweeper) ◄────────────┘

Candidates: the area's enrolments of `from_budget_year` paid by the decree's funder that reached
the registry (active, or ended with a participant number). Each one is, in this order of
precedence, left out as `deceased` (a death report, or the registry said so), `ended` (ended for
any other reason), `moved_out` (the person now lives outside the area), `over_age` (older than
ENROLMENT_MAX_AGE when the decree's period starts); or, if already renewed into the new year
(an earlier run, or a live enrolment of that year), carried without a new record. The rest are
served in the documented order, earliest enrolment first (coverage start, then creation time,
then id): each takes a seat while the decree has seats and money left beyond what it already
commits; the first that would pass the quota and everyone after is `over_quota`, the first that
would pass the amount and everyone after `over_budget` (a strict prefix: the order is the
promise, so a cheaper person further down never jumps the queue).

Exactly once: a new enrolment's id is derived from its predecessor and the decree
(`renewal_id`), and `renewal_of` is unique, so a chunk done twice, a job resumed, or the same
renewal asked for again inserts nothing a second time (INSERT … ON CONFLICT DO NOTHING). A
chunk's inserts, its rows' ids and the job's progress commit together. The commitment of the
decree is the database's (enrolment.models.FundingAllocation): should seats go meanwhile, the
chunk that would overrun fails the CHECK and the job fails with `allocation_exhausted`, keeping
what it made; asking again re-plans against what is left.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid, NotFound, PermissionDenied
from config.queues import nudge
from enrolment.contributions import Pricing, RateMissing, RateTable
from enrolment.errors import overruns_allocation
from enrolment.funding.models import DeathReport, JobStatus, LeftOutReason, RenewalJob, RenewalOutcome, RenewalRow
from enrolment.models import LIVE_STATUSES, Enrolment, FundingAllocation, RegistryStatus, Status
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import Area, AuditAction, Role, User
from villages.scope import code_within, scope_of
from workers.models import FundingSource, Occupation

RENEWAL_ROLES = (Role.SUPERVISOR,)
ORDER = "earliest_enrolment"  # coverage_start, created_at, id of last year's enrolment
LEASE = dt.timedelta(minutes=10)


def renewal_id(enrolment_id: str, allocation_id: str) -> str:
    """The new year's enrolment id: the same predecessor and decree always give the same id."""
    return "rn" + hashlib.sha256(f"{enrolment_id}\x00{allocation_id}".encode()).hexdigest()[:30]


# --- asking ----------------------------------------------------------------------------------------


def renewals_visible(*, user: User) -> QuerySet[RenewalJob]:
    return scope_of(user).filter(RenewalJob.objects.select_related("to_allocation"), "area__code")


def renewal_get(*, user: User, job_id: uuid.UUID | str) -> RenewalJob:
    job = renewals_visible(user=user).filter(id=job_id).first()
    if job is None:
        raise NotFound()
    return job


def renewal_rows(*, job: RenewalJob, outcome: str | None = None, reason: str | None = None) -> QuerySet[RenewalRow]:
    rows = RenewalRow.objects.filter(job=job)
    if outcome:
        rows = rows.filter(outcome=outcome)
    if reason:
        rows = rows.filter(reason=reason)
    return rows


@transaction.atomic
def renewal_create(*, actor: Actor, area: str, from_budget_year: int, to_allocation: str, dry_run: bool) -> RenewalJob:
    """POST /renewals: a queued job (run by the `enrolment.funding.renew` task). Raises 403 for
    roles that may not renew, 404 for an area or decree outside the caller's areas, 400 when the
    decree is not a later year's decree covering the area."""
    user = actor.user
    assert user is not None
    if not (user.is_admin or user.role in RENEWAL_ROLES):
        raise PermissionDenied()
    scope = scope_of(user)
    if not Area.objects.filter(code=area).exists() or not scope.covers(area):
        raise NotFound()
    allocation = scope.filter(FundingAllocation.objects.all(), "area__code").filter(id=to_allocation).first()
    if allocation is None:
        raise NotFound()
    if not code_within(area, allocation.area_id):
        raise FieldsInvalid(fields={"to_allocation": [_("The decree does not cover this area.")]})
    if allocation.budget_year <= from_budget_year:
        raise FieldsInvalid(fields={"to_allocation": [_("Renew into a later budget year's decree.")]})
    job = RenewalJob.objects.create(
        area_id=area,
        from_budget_year=from_budget_year,
        to_allocation=allocation,
        dry_run=dry_run,
        order=ORDER,
        created_by=user,
    )
    audit_events(
        actor,
        [
            AuditEntry(
                AuditAction.CREATE,
                "renewal",
                str(job.id),
                area,
                None,
                {"from_budget_year": from_budget_year, "to_allocation": allocation.id, "dry_run": dry_run},
            )
        ],
    )
    transaction.on_commit(lambda: _nudge(job.id))
    return job


def _nudge(job_id: uuid.UUID) -> None:
    """Queues the run; a broker that is down leaves the job to the sweeper."""
    from enrolment.funding.tasks import renewal_run

    nudge(renewal_run, str(job_id), fallback="the sweeper will run it")


# --- planning ------------------------------------------------------------------------------------


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


def _plan(job: RenewalJob) -> None:
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


# --- running -------------------------------------------------------------------------------------


def _claim(job_id: uuid.UUID | str) -> RenewalJob | None:
    """Takes the job's lease (a conditional UPDATE: one runner at a time). None: finished, or
    another runner holds it."""
    now = timezone.now()
    taken = (
        RenewalJob.objects.filter(id=job_id, status__in=(JobStatus.QUEUED, JobStatus.RUNNING))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )
    if not taken:
        return None
    return RenewalJob.objects.select_related("to_allocation", "created_by").get(id=job_id)


def renewal_job_run(*, job_id: uuid.UUID | str, chunk_size: int | None = None) -> RenewalJob | None:
    """Plans (or resumes) and runs a job. Idempotent: a finished job, or one another runner
    holds, is left as it is; a run that died resumes at its first unfinished chunk."""
    job = _claim(job_id)
    if job is None:
        return RenewalJob.objects.filter(id=job_id).first()
    chunk_size = chunk_size or settings.RENEWAL_CHUNK_SIZE
    if job.status == JobStatus.QUEUED:
        RenewalJob.objects.filter(id=job.id).update(status=JobStatus.RUNNING, started_at=timezone.now())
        try:
            _plan(job)
        except FieldsInvalid as problem:
            _fail(job, str(problem.details.get("fields", {}).get("to_allocation", [problem.message])[0]))
            return RenewalJob.objects.get(id=job.id)
        job.refresh_from_db()
    actor = Actor(user=job.created_by)
    while job.status == JobStatus.RUNNING:
        try:
            done = _run_chunk(job, actor, chunk_size)
        except IntegrityError as exc:
            if not overruns_allocation(exc):
                raise
            _fail(job, "allocation_exhausted: the decree's seats or money went to other enrolments meanwhile")
            break
        job.refresh_from_db()
        if done:
            RenewalJob.objects.filter(id=job.id).update(
                status=JobStatus.COMPLETED, finished_at=timezone.now(), lease_until=None
            )
            break
    RenewalJob.objects.filter(id=job.id).update(lease_until=None)
    return RenewalJob.objects.get(id=job.id)


def _fail(job: RenewalJob, error: str) -> None:
    RenewalJob.objects.filter(id=job.id).update(
        status=JobStatus.FAILED, error=error, finished_at=timezone.now(), lease_until=None
    )


INSERT_RENEWALS = """
INSERT INTO enrolment_enrolment (
    id, worker_id, village_id, segment, programs, funding_source_id, budget_year, funding_decree, coverage_start,
    payment_period_months, monthly_contribution, annual_contribution, contribution_detail, status, status_reason,
    status_changed_at, status_changed_by_id, registry_number, registry_status, allocation_id, renewal_of_id, renews,
    warnings, needs_correction, errors, version, request_hash, created_at, updated_at, created_by_id, updated_by_id)
SELECT r.new_enrolment_id, e.worker_id, e.village_id, e.segment, e.programs, a.funding_source_id, a.budget_year,
       a.decree_number, a.period_start, e.payment_period_months, r.monthly_idr, r.cost_idr, r.detail, 'verified', '',
       %(now)s, %(user)s, '', '', a.id, e.id, e.registry_number,
       '[]', false, '{}', 1, '', %(now)s, %(now)s, %(user)s, %(user)s
  FROM enrolment_renewalrow r
  JOIN enrolment_enrolment e ON e.id = r.enrolment_id
  JOIN enrolment_fundingallocation a ON a.id = %(allocation)s
 WHERE r.job_id = %(job)s AND r.position > %(after)s AND r.position <= %(until)s
   AND r.outcome = 'carried' AND NOT r.already_renewed
ORDER BY r.position
ON CONFLICT DO NOTHING
RETURNING id, renewal_of_id, village_id
"""


def _run_chunk(job: RenewalJob, actor: Actor, chunk_size: int) -> bool:
    """Creates the next chunk's enrolments; True when the job has no rows left."""
    with transaction.atomic():
        locked = RenewalJob.objects.select_for_update().get(id=job.id)
        after = locked.processed_rows
        if after >= locked.total_rows:
            return True
        until = after + chunk_size
        now = timezone.now()
        user_id = job.created_by_id
        with connection.cursor() as cursor:
            cursor.execute(
                INSERT_RENEWALS,
                {
                    "now": now,
                    "user": user_id,
                    "allocation": job.to_allocation_id,
                    "job": job.id.hex if connection.vendor == "sqlite" else job.id,  # SQLite keeps UUIDs as hex
                    "after": after,
                    "until": until,
                },
            )
            made = cursor.fetchall()
        predecessors = [row[1] for row in made]
        _touch(predecessors, now)
        audit_events(
            actor,
            [
                AuditEntry(
                    AuditAction.CREATE, "enrolment", new_id, village, None,
                    {"renewal_of": old_id, "renewal": str(job.id), "status": Status.VERIFIED},
                )
                for new_id, old_id, village in made
            ],
        )  # fmt: skip
        RenewalJob.objects.filter(id=job.id).update(
            processed_rows=min(until, locked.total_rows),
            created_count=locked.created_count + len(made),
            lease_until=now + LEASE,
        )
    return until >= locked.total_rows


def _touch(enrolment_ids: Iterable[str], now: dt.datetime) -> None:
    """Last year's enrolments get a new version, so devices pull them again and see `renewed_by`."""
    ids = list(enrolment_ids)
    if not ids:
        return
    Enrolment.objects.filter(id__in=ids).update(version=F("version") + 1, updated_at=now)


def renewals_resume() -> int:
    """The sweeper: runs every job left queued or running whose lease ran out. Returns how many."""
    stale = RenewalJob.objects.filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    )
    count = 0
    for job_id in list(stale.values_list("id", flat=True)):
        renewal_job_run(job_id=job_id)
        count += 1
    return count
