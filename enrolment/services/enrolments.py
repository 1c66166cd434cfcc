"""Writes of enrolment records: create, update, bulk upsert, soft delete. Audited.

Same shape as workers.services: lock what is about to be written, read what decides once,
decide per record, write in bulk. One live enrolment per worker is a database constraint; the
lock on the worker ids makes the friendly 409 `already_enrolled` reliable before it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.bulk import insert_models, new_instance, update_models
from config.errors import (
    Conflict,
    FieldsInvalid,
    IdempotencyKeyReused,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ServiceError,
)
from config.locks import lock_keys
from enrolment.errors import AlreadyEnrolled, EnrolmentLocked
from enrolment.models import LIVE_STATUSES, Enrolment, Status
from enrolment.validation import (
    CONSENT_MISSING,
    VALUE_FIELDS,
    CleanedEnrolment,
    EnrolmentRefs,
    clean_enrolment,
)
from enrolment.workflow import EDITABLE_STATUSES, may_move
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction, User
from villages.scope import Scope, scope_of
from workers.errors import DuplicateInRequest, RecordDeleted
from workers.models import Worker
from workers.services import Result, SaveMode
from workers.validation import storable_ids


@dataclass
class EnrolmentOutcome:
    id: str
    result: Result
    enrolment: Enrolment | None = None
    error: ServiceError | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)


def scoped_enrolments(*, user: User) -> QuerySet[Enrolment]:
    return scope_of(user).filter(Enrolment.objects.all(), "village__code")


def enrolment_refs(
    *, user: User | None, records: Sequence[Any], extra_workers: Collection[Worker] = ()
) -> EnrolmentRefs:
    scope = scope_of(user) if user is not None else Scope(everything=True)
    worker_ids = {r.get("worker") for r in records if isinstance(r, Mapping) and isinstance(r.get("worker"), str)}
    return EnrolmentRefs.load(scope=scope, worker_ids=worker_ids, extra_workers=extra_workers)


def _submission_error(worker: Worker) -> ServiceError | None:
    """What must hold before an enrolment leaves draft: a valid worker whose consent is on file
    (UU 27/2022: personal data goes to the registry only with a recorded legal basis)."""
    if worker.needs_correction:
        return FieldsInvalid.from_detail(
            {"worker": [_error(_("The worker's own data needs correction first."), "worker_needs_correction")]}
        )
    if worker.consent_given_at is None:
        return FieldsInvalid.from_detail(
            {"worker": [_error(_("Record the worker's consent before submitting."), CONSENT_MISSING)]}
        )
    return None


def _already_enrolled(scope: Scope, live: tuple[str, str]) -> AlreadyEnrolled:
    """Names the live enrolment (id, village) only when it lies in the caller's areas: the person
    may have moved and been enrolled in a village the caller must learn nothing about."""
    enrolment_id, village_id = live
    return AlreadyEnrolled(details={"enrolment": enrolment_id} if scope.covers(village_id) else {})


def _live_enrolments(worker_ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """{worker id: (id, village)} of the live enrolment each worker has (the one the partial
    unique index `enrolment_one_live_per_worker` allows)."""
    if not worker_ids:
        return {}
    rows = Enrolment.objects.filter(
        worker_id__any=set(worker_ids), status__in=LIVE_STATUSES, deleted_at__isnull=True, needs_correction=False
    ).values_list("worker_id", "id", "village_id")
    return {worker_id: (enrolment_id, village_id) for worker_id, enrolment_id, village_id in rows}


def _error(message: Any, code: str) -> Any:
    from rest_framework.exceptions import ErrorDetail

    return ErrorDetail(str(message), code=code)


def _diff(enrolment: Enrolment, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [_plain(getattr(enrolment, name)), _plain(value)]
        for name, value in values.items()
        if getattr(enrolment, name) != value
    }


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


@transaction.atomic
def enrolments_save(
    *,
    actor: Actor,
    records: Sequence[CleanedEnrolment],
    refs: EnrolmentRefs,
    mode: SaveMode,
    keep_invalid: bool = False,
) -> list[EnrolmentOutcome]:
    """Saves cleaned enrolments; one outcome per record, in order. Idempotent, like workers_save.

    Edits are refused with `enrolment_locked` once an enrolment is verified or further; a second
    live enrolment for a worker is `already_enrolled` (409). A record asking for `submitted`
    is submitted when the caller's role may and the worker has consent on file.
    """
    user = actor.user
    scope = refs.scope
    now = timezone.now()
    ids = storable_ids(r.id for r in records)
    worker_ids = [r.values["worker_id"] for r in records if r.values.get("worker_id")]
    lock_keys("enrolment", ids)
    lock_keys("enrolled-worker", worker_ids)

    existing = {e.id: e for e in Enrolment.objects.filter(id__any=set(ids))}
    live_by_worker = _live_enrolments(worker_ids)

    outcomes: list[EnrolmentOutcome] = []
    to_create: list[Enrolment] = []
    to_update: list[Enrolment] = []
    events: list[AuditEntry] = []
    seen: set[str] = set()

    for record in records:
        outcome = EnrolmentOutcome(id=record.id, result=Result.INVALID)
        outcomes.append(outcome)
        if record.id and record.id in seen:
            outcome.error = DuplicateInRequest()
            continue
        seen.add(record.id)
        current = existing.get(record.id)

        if current is not None and not scope.covers(current.village_id):
            outcome.error = IdempotencyKeyReused() if mode == SaveMode.CREATE else NotFound()
            continue
        if current is None and mode == SaveMode.UPDATE:
            outcome.error = NotFound()
            continue
        if current is not None and current.deleted_at is not None:
            if mode == SaveMode.CREATE and current.request_hash == record.request_hash():
                outcome.result, outcome.enrolment = Result.UNCHANGED, current
            else:
                outcome.error = RecordDeleted() if mode != SaveMode.UPDATE else NotFound()
            continue
        if current is not None and mode == SaveMode.CREATE:
            if current.request_hash == record.request_hash():
                outcome.result, outcome.enrolment = Result.UNCHANGED, current
            else:
                outcome.error = IdempotencyKeyReused()
            continue
        if (
            current is not None
            and current.worker_id != record.values.get("worker_id")
            and record.values.get("worker_id")
        ):
            outcome.error = FieldsInvalid.from_detail(
                {"worker": [_error(_("An enrolment cannot move to another person."), "invalid")]}
            )
            continue

        # keep_invalid (sync) keeps any record it can file under a person it may see, including
        # one whose person still needs correction: the officer fixes both, nothing is lost.
        structural = bool({"id", "non_field_errors"} & set(record.errors)) or not record.values.get("worker_id")
        if not record.valid and (not keep_invalid or structural):
            outcome.error = FieldsInvalid.from_detail(record.errors)
            continue

        worker = refs.workers[record.values["worker_id"]]
        target_status = current.status if current is not None else Status.DRAFT
        if record.valid and record.status == Status.SUBMITTED and target_status in (Status.DRAFT, Status.REJECTED):
            if not may_move(user, target_status, Status.SUBMITTED):
                outcome.error = PermissionDenied()
                continue
            problem = _submission_error(worker)
            if problem is not None:
                if not keep_invalid:
                    outcome.error = problem
                    continue
                for name, messages in problem.details["fields"].items():
                    for message in messages:
                        record.add_error(name, message, CONSENT_MISSING)
            else:
                target_status = Status.SUBMITTED

        # Whether the record will be live once saved decides, not what it was: a rejected
        # enrolment resubmitted becomes live again beside the person's other one.
        live = live_by_worker.get(record.values["worker_id"])
        if record.valid and live is not None and live[0] != record.id and target_status in LIVE_STATUSES:
            if not keep_invalid:
                outcome.error = _already_enrolled(scope, live)
                continue
            record.add_error("worker", AlreadyEnrolled.default_message, AlreadyEnrolled.code)

        flagged = not record.valid
        state = {"needs_correction": flagged, "errors": _fields_of(record) if flagged else {}}
        values = dict(record.values)

        if current is None:
            user_id = user.pk if user else None
            enrolment = new_instance(
                Enrolment,
                {
                    "id": record.id,
                    **values,
                    **state,
                    "status": target_status,
                    "status_changed_at": now,
                    "status_changed_by_id": user_id,
                    "version": 1,
                    "request_hash": record.request_hash(),
                    "created_by_id": user_id,
                    "updated_by_id": user_id,
                    "created_on_device": actor.device,
                },
            )
            to_create.append(enrolment)
            if not flagged:
                live_by_worker[enrolment.worker_id] = (enrolment.id, enrolment.village_id)
            outcome.result, outcome.enrolment = Result.CREATED, enrolment
            events.append(
                AuditEntry(
                    AuditAction.CREATE,
                    "enrolment",
                    enrolment.id,
                    enrolment.village_id,
                    None,
                    {"status": target_status, "needs_correction": flagged},
                )
            )
            continue

        changes = _diff(current, {**values, **state})
        status_change = [current.status, target_status] if target_status != current.status else None
        if not changes and status_change is None:
            outcome.result, outcome.enrolment = Result.UNCHANGED, current
            continue
        if current.status not in EDITABLE_STATUSES:
            outcome.error = EnrolmentLocked(details={"status": current.status})
            continue
        if record.version is not None and record.version != current.version:
            outcome.error = PreconditionFailed(details={"current_version": current.version})
            continue
        for name, value in {**values, **state}.items():
            setattr(current, name, value)
        if status_change is not None:
            # The same move as the submit action: who moved it and when, no leftover rejection
            # reason (a save only reaches draft or submitted, which carry none), its own event.
            current.status, current.status_reason = target_status, ""
            current.status_changed_at, current.status_changed_by = now, user
        current.version += 1
        current.updated_by = user
        current.updated_at = now
        to_update.append(current)
        if not flagged and target_status in LIVE_STATUSES:
            live_by_worker[current.worker_id] = (current.id, current.village_id)
        outcome.result, outcome.enrolment = Result.UPDATED, current
        if changes:
            events.append(
                AuditEntry(
                    AuditAction.UPDATE,
                    "enrolment",
                    current.id,
                    current.village_id,
                    changes,
                    {"version": current.version},
                )
            )
        if status_change is not None:
            events.append(
                AuditEntry(
                    AuditAction.STATUS, "enrolment", current.id, current.village_id, {"status": status_change}, {}
                )
            )

    try:
        with transaction.atomic():
            insert_models(to_create)
            update_models(
                to_update,
                [*VALUE_FIELDS, "needs_correction", "errors", "status", "status_reason", "status_changed_at",
                 "status_changed_by", "version", "updated_by", "updated_at"],
            )  # fmt: skip
    except IntegrityError as exc:
        raise Conflict() from exc
    audit_events(actor, events)
    return outcomes


def _fields_of(record: CleanedEnrolment) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in record.errors.items()}


def _raise_if_error(outcome: EnrolmentOutcome) -> EnrolmentOutcome:
    if outcome.error is not None:
        raise outcome.error
    return outcome


def enrolment_create(
    *, actor: Actor, data: Mapping[str, Any], extra_workers: Collection[Worker] = ()
) -> EnrolmentOutcome:
    """POST /enrolments (201 created, 200 replay). Raises 400, 404, 409, 422."""
    refs = enrolment_refs(user=actor.user, records=[data], extra_workers=extra_workers)
    cleaned = clean_enrolment(data, refs=refs)
    (outcome,) = enrolments_save(actor=actor, records=[cleaned], refs=refs, mode=SaveMode.CREATE)
    return _raise_if_error(outcome)


def enrolment_as_input(enrolment: Enrolment) -> dict[str, Any]:
    return {
        "id": enrolment.id,
        "worker": enrolment.worker_id,
        "segment": enrolment.segment,
        "programs": list(enrolment.programs),
        "funding_source": enrolment.funding_source_id,
        "budget_year": enrolment.budget_year,
        "funding_decree": enrolment.funding_decree,
        "coverage_start": enrolment.coverage_start.isoformat() if enrolment.coverage_start else None,
        "payment_period_months": enrolment.payment_period_months,
    }


@transaction.atomic
def enrolment_update(
    *, actor: Actor, enrolment_id: str, patch: Mapping[str, Any], if_match: int | None
) -> EnrolmentOutcome:
    """PATCH /enrolments/{id}: the stored record with the patch merged in, cleaned and re-priced."""
    assert actor.user is not None
    lock_keys("enrolment", [enrolment_id])
    current = scoped_enrolments(user=actor.user).filter(id=enrolment_id, deleted_at__isnull=True).first()
    if current is None:
        raise NotFound()
    merged = {**enrolment_as_input(current), **{k: v for k, v in patch.items() if k not in ("id", "version")}}
    refs = enrolment_refs(user=actor.user, records=[merged])
    cleaned = clean_enrolment(merged, refs=refs, record_id=enrolment_id)
    cleaned.version = if_match
    (outcome,) = enrolments_save(actor=actor, records=[cleaned], refs=refs, mode=SaveMode.UPDATE)
    return _raise_if_error(outcome)


@transaction.atomic
def enrolment_delete(*, actor: Actor, enrolment_id: str, if_match: int | None) -> Enrolment:
    """Soft delete of an enrolment still being prepared (draft, submitted, rejected). Idempotent."""
    assert actor.user is not None
    lock_keys("enrolment", [enrolment_id])
    enrolment = scoped_enrolments(user=actor.user).filter(id=enrolment_id).first()
    if enrolment is None:
        raise NotFound()
    if enrolment.deleted_at is not None:
        return enrolment
    if if_match is not None and if_match != enrolment.version:
        raise PreconditionFailed(details={"current_version": enrolment.version})
    if enrolment.status not in EDITABLE_STATUSES:
        raise EnrolmentLocked(details={"status": enrolment.status})
    _tombstone(actor, [enrolment])
    return enrolment


def _tombstone(actor: Actor, enrolments: list[Enrolment]) -> None:
    now = timezone.now()
    for enrolment in enrolments:
        enrolment.deleted_at, enrolment.deleted_by = now, actor.user
        enrolment.version += 1
        enrolment.updated_by, enrolment.updated_at = actor.user, now
    update_models(enrolments, ["deleted_at", "deleted_by", "version", "updated_by", "updated_at"])
    audit_events(
        actor,
        [
            AuditEntry(AuditAction.DELETE, "enrolment", e.id, e.village_id, None, {"version": e.version})
            for e in enrolments
        ],
    )
