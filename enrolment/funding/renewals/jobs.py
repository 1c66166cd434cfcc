"""A renewal's job row: asking for one (POST /renewals), reading it and its rows, and the lease a
runner claims before it plans or runs a chunk (enrolment.funding.renewals.run)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid, NotFound, PermissionDenied
from config.queues import nudge
from enrolment.funding.models import JobStatus, RenewalJob, RenewalRow
from enrolment.funding.renewals.plan import ORDER
from enrolment.models import FundingAllocation
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import Area, AuditAction, Role, User
from villages.scope import code_within, scope_of

RENEWAL_ROLES = (Role.SUPERVISOR,)
LEASE = dt.timedelta(minutes=10)


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


def claim(job_id: uuid.UUID | str) -> RenewalJob | None:
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


def fail(job: RenewalJob, error: str) -> None:
    RenewalJob.objects.filter(id=job.id).update(
        status=JobStatus.FAILED, error=error, finished_at=timezone.now(), lease_until=None
    )
