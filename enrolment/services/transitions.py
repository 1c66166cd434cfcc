"""Status moves of enrolments by an action (submit, verify, reject, end): enrolment/workflow.py
says who may make which move."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.bulk import update_models
from config.errors import (
    Conflict,
    FieldsInvalid,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from config.locks import lock_keys
from enrolment.contributions import RateMissing
from enrolment.decisions import already_enrolled, error_detail, submission_error
from enrolment.errors import AllocationExhausted, InvalidTransition, ReasonRequired, WorkerDeleted, overruns_allocation
from enrolment.models import LIVE_STATUSES, Enrolment, Status
from enrolment.services.enrolments import EnrolmentOutcome, _live_enrolments, _raise_if_error, scoped_enrolments
from enrolment.validation import (
    VALUE_FIELDS,
    EnrolmentRefs,
    price,
)
from enrolment.workflow import ACTIONS, ACTIONS_NEEDING_REASON, HUMAN_TRANSITIONS, may_move
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction
from villages.scope import Scope, scope_of
from villages.upsert import Result


@dataclass(frozen=True)
class TransitionRequest:
    id: str
    if_match: int | None = None


@transaction.atomic
def enrolments_transition(
    *, actor: Actor, requests: Sequence[TransitionRequest], action: str, reason: str = ""
) -> list[EnrolmentOutcome]:
    """Moves enrolments by an action (submit, verify, reject, end); one outcome per id.

    Idempotent: an enrolment already in the target status is `unchanged`. Refusals: 404 outside
    scope, 403 when the role may never do this action, 409 `invalid_transition` from a status
    that does not allow it, 412 stale If-Match, 400 a missing reason or unmet submission rules,
    409 `worker_deleted` to submit or verify the enrolment of a deleted person (rejecting or
    ending it stays possible: that takes it off the road to the registry), 409
    `already_enrolled` to resubmit a rejected enrolment while the person has another live one.
    Submitting and verifying re-price the enrolment with the rates in force now.
    """
    user = actor.user
    target = ACTIONS[action]
    reason = reason.strip()
    if action in ACTIONS_NEEDING_REASON and not reason:
        raise ReasonRequired(fields={"reason": [_("This field is required.")]})
    role_may = (
        user is None
        or user.is_admin
        or any(t == target and user.role in roles for (_, t), roles in HUMAN_TRANSITIONS.items())
    )
    if not role_may:
        raise PermissionDenied()

    ids = [r.id for r in requests]
    # The workers' locks first. worker_delete holds its worker's lock while it checks that no
    # enrolment is past `submitted` and tombstones the others; without it here, a verification
    # committing between those two steps left a deleted person with a verified enrolment. Now
    # one waits for the other: the delete then sees `verified` and refuses, or the move finds the
    # enrolment deleted. Worker before enrolment, the order registrations take them in, so the two
    # never deadlock; an enrolment's worker never changes, so reading it unlocked is safe.
    worker_ids = set(Enrolment.objects.filter(id__in=ids).values_list("worker_id", flat=True))
    lock_keys("worker", worker_ids)
    lock_keys("enrolment", ids)
    if target == Status.SUBMITTED:
        # Resubmitting a rejected enrolment makes it live again: the same lock as enrolments_save.
        lock_keys("enrolled-worker", worker_ids)
    base = scoped_enrolments(user=user) if user is not None else Enrolment.objects.all()
    # Row locks too: the registry sync claims verified rows with FOR UPDATE SKIP LOCKED, so a move
    # read here either waits for a claim to commit (and then sees `queued`) or makes the claim skip.
    # An enrolment created since the read above (its worker unlocked) is not found: it did not
    # exist yet when the request came.
    found = {
        e.id: e
        for e in base.filter(id__in=ids, worker_id__in=worker_ids, deleted_at__isnull=True)
        .select_related("worker")
        .select_for_update(of=("self",))
        .order_by("id")
    }
    reviving = target in LIVE_STATUSES and any(e.status not in LIVE_STATUSES for e in found.values())
    live_by_worker = _live_enrolments({e.worker_id for e in found.values()}) if reviving else {}
    scope = scope_of(user) if user is not None else Scope(everything=True)
    refs = EnrolmentRefs.load(
        scope=Scope(everything=True), worker_ids=[], extra_workers=[e.worker for e in found.values()]
    )
    now = timezone.now()
    outcomes: list[EnrolmentOutcome] = []
    changed: list[Enrolment] = []
    events: list[AuditEntry] = []
    for request in requests:
        outcome = EnrolmentOutcome(id=request.id, result=Result.INVALID)
        outcomes.append(outcome)
        enrolment = found.get(request.id)
        if enrolment is None:
            outcome.error = NotFound()
            continue
        outcome.row = enrolment
        if enrolment.status == target:
            outcome.result = Result.UNCHANGED
            continue
        if not may_move(user, enrolment.status, target):
            outcome.error = InvalidTransition(details={"status": enrolment.status, "action": action})
            continue
        if request.if_match is not None and request.if_match != enrolment.version:
            outcome.error = PreconditionFailed(details={"current_version": enrolment.version})
            continue
        if enrolment.needs_correction:
            outcome.error = FieldsInvalid.from_detail(
                {"non_field_errors": [error_detail(_("Correct the enrolment first."), "invalid")]}
            )
            continue
        if target in (Status.SUBMITTED, Status.VERIFIED):
            if enrolment.worker.deleted_at is not None:
                outcome.error = WorkerDeleted(details={"worker": enrolment.worker_id})
                continue
            problem = submission_error(enrolment.worker)
            if problem is not None:
                outcome.error = problem
                continue
            live = live_by_worker.get(enrolment.worker_id)
            if enrolment.status not in LIVE_STATUSES and live is not None and live[0] != enrolment.id:
                outcome.error = already_enrolled(scope, live)
                continue
            values = {f: getattr(enrolment, f) for f in VALUE_FIELDS}
            try:
                price(refs, worker=enrolment.worker, values=values)
            except RateMissing as missing:
                outcome.error = FieldsInvalid(fields={"programs": [f"{missing}"]})
                continue
            for name in ("monthly_contribution", "annual_contribution", "contribution_detail"):
                setattr(enrolment, name, values[name])
        source = enrolment.status
        enrolment.status = target
        enrolment.status_reason = reason if target in (Status.REJECTED, Status.ENDED) else ""
        enrolment.status_changed_at, enrolment.status_changed_by = now, user
        enrolment.version += 1
        enrolment.updated_by, enrolment.updated_at = user, now
        changed.append(enrolment)
        if target in LIVE_STATUSES:
            live_by_worker[enrolment.worker_id] = (enrolment.id, enrolment.village_id)
        outcome.result = Result.UPDATED
        events.append(
            AuditEntry(
                AuditAction.STATUS,
                "enrolment",
                enrolment.id,
                enrolment.village_id,
                {"status": [source, target]},
                {"reason": reason} if reason else {},
            )
        )
    try:
        with transaction.atomic():
            update_models(changed, MOVED_FIELDS)
    except IntegrityError as exc:
        if not overruns_allocation(exc):
            # Only a writer that bypassed the locks above can get here; the client may simply retry.
            raise Conflict() from exc
        refused = _move_within_allocations(changed)
        for outcome in outcomes:
            if outcome.id in refused:
                outcome.result, outcome.error = (
                    Result.INVALID,
                    AllocationExhausted(details={"allocation": refused[outcome.id]}),
                )
        events = [event for event in events if event.object_id not in refused]
    audit_events(actor, events)
    return outcomes


MOVED_FIELDS = ["status", "status_reason", "status_changed_at", "status_changed_by", "monthly_contribution",
                "annual_contribution", "contribution_detail", "version", "updated_by", "updated_at"]  # fmt: skip


def _move_within_allocations(changed: list[Enrolment]) -> dict[str, str]:
    """When the moves together overrun a funding decree (its CHECK refused the statement): each
    move on its own, in request order, so those that fit go through and the others are refused.
    Returns {enrolment id: allocation id} of the refused ones, reloaded as stored."""
    refused: dict[str, str] = {}
    for enrolment in changed:
        try:
            with transaction.atomic():
                update_models([enrolment], MOVED_FIELDS)
        except IntegrityError as exc:
            if not overruns_allocation(exc):
                raise Conflict() from exc
            refused[enrolment.id] = enrolment.allocation_id or ""
            enrolment.refresh_from_db()
    return refused


def enrolment_transition(
    *, actor: Actor, enrolment_id: str, action: str, reason: str, if_match: int | None
) -> EnrolmentOutcome:
    (outcome,) = enrolments_transition(
        actor=actor, requests=[TransitionRequest(enrolment_id, if_match)], action=action, reason=reason
    )
    return _raise_if_error(outcome)
