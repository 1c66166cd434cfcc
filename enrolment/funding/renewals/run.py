"""A renewal's real run: the plan's carried rows become the new year's enrolments, one chunk per
transaction (its inserts, their audit and the job's progress commit together), resumable by the
sweeper after a worker died. Exactly once: the package's docstring."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.errors import FieldsInvalid
from enrolment.errors import overruns_allocation
from enrolment.funding.models import JobStatus, RenewalJob
from enrolment.funding.renewals.jobs import LEASE, claim, fail
from enrolment.funding.renewals.plan import plan
from enrolment.models import Enrolment, Status
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction


def renewal_job_run(*, job_id: uuid.UUID | str, chunk_size: int | None = None) -> RenewalJob | None:
    """Plans (or resumes) and runs a job. Idempotent: a finished job, or one another runner
    holds, is left as it is; a run that died resumes at its first unfinished chunk."""
    job = claim(job_id)
    if job is None:
        return RenewalJob.objects.filter(id=job_id).first()
    chunk_size = chunk_size or settings.RENEWAL_CHUNK_SIZE
    if job.status == JobStatus.QUEUED:
        RenewalJob.objects.filter(id=job.id).update(status=JobStatus.RUNNING, started_at=timezone.now())
        try:
            plan(job)
        except FieldsInvalid as problem:
            fail(job, str(problem.details.get("fields", {}).get("to_allocation", [problem.message])[0]))
            return RenewalJob.objects.get(id=job.id)
        job.refresh_from_db()
    actor = Actor(user=job.created_by)
    while job.status == JobStatus.RUNNING:
        try:
            done = run_chunk(job, actor, chunk_size)
        except IntegrityError as exc:
            if not overruns_allocation(exc):
                raise
            fail(job, "allocation_exhausted: the decree's seats or money went to other enrolments meanwhile")
            break
        job.refresh_from_db()
        if done:
            RenewalJob.objects.filter(id=job.id).update(
                status=JobStatus.COMPLETED, finished_at=timezone.now(), lease_until=None
            )
            break
    RenewalJob.objects.filter(id=job.id).update(lease_until=None)
    return RenewalJob.objects.get(id=job.id)


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


def run_chunk(job: RenewalJob, actor: Actor, chunk_size: int) -> bool:
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
