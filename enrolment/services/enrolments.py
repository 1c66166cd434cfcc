"""Writes of enrolment records: create, update, bulk upsert, soft delete. Audited.

Saves go through the save skeleton of every client record (villages/upsert.py) with the
enrolments table's own rules (enrolment/decisions.py). One live enrolment per worker is a
database constraint; the lock on the worker ids makes the friendly 409 `already_enrolled`
reliable before it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.bulk import update_models
from config.errors import (
    NotFound,
    PreconditionFailed,
    ServiceError,
)
from config.locks import lock_keys
from enrolment.decisions import EnrolmentFacts, decide_enrolment
from enrolment.errors import EnrolmentLocked
from enrolment.models import LIVE_STATUSES, Enrolment
from enrolment.validation import (
    VALUE_FIELDS,
    CleanedEnrolment,
    EnrolmentRefs,
    clean_enrolment,
)
from enrolment.workflow import EDITABLE_STATUSES
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction, User
from villages.scope import Scope, scope_of
from villages.upsert import Decision, Outcome, RecordTable, Result, Saved, SaveMode, records_save
from workers.models import Worker


class EnrolmentOutcome(Outcome[Enrolment]):
    @property
    def enrolment(self) -> Enrolment | None:
        return self.row


def scoped_enrolments(*, user: User) -> QuerySet[Enrolment]:
    return scope_of(user).filter(Enrolment.objects.all(), "village__code")


def enrolment_refs(
    *, user: User | None, records: Sequence[Any], extra_workers: Collection[Worker] = ()
) -> EnrolmentRefs:
    scope = scope_of(user) if user is not None else Scope(everything=True)
    worker_ids = {w for r in records if isinstance(r, Mapping) and isinstance(w := r.get("worker"), str)}
    return EnrolmentRefs.load(scope=scope, worker_ids=worker_ids, extra_workers=extra_workers)


def _live_enrolments(worker_ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """{worker id: (id, village)} of the live enrolment each worker has (the one the partial
    unique index `enrolment_one_live_per_worker` allows)."""
    if not worker_ids:
        return {}
    rows = Enrolment.objects.filter(
        worker_id__any=set(worker_ids), status__in=LIVE_STATUSES, deleted_at__isnull=True, needs_correction=False
    ).values_list("worker_id", "id", "village_id")
    return {worker_id: (enrolment_id, village_id) for worker_id, enrolment_id, village_id in rows}


class EnrolmentTable(RecordTable[Enrolment, CleanedEnrolment, EnrolmentOutcome]):
    """The enrolments table in the save skeleton (villages/upsert.py); its rules: enrolment.decisions."""

    model = Enrolment
    object_type = "enrolment"
    lock_namespace = "enrolment"
    derived_fields = frozenset({"warnings"})  # derived from the values: a difference alone is no change
    update_fields = (*VALUE_FIELDS, "needs_correction", "errors", "status", "status_reason", "status_changed_at",
                     "status_changed_by", "version", "updated_by", "updated_at")  # fmt: skip

    def __init__(self, *, refs: EnrolmentRefs, **kwargs: Any) -> None:
        super().__init__(scope=refs.scope, **kwargs)
        self.refs = refs

    def lock(self, records: Sequence[CleanedEnrolment]) -> None:
        # The people being enrolled: the friendly 409 `already_enrolled` is reliable under it.
        lock_keys("enrolled-worker", self._worker_ids(records))

    def prepare(self, records: Sequence[CleanedEnrolment], existing: Mapping[str, Enrolment]) -> None:
        self.facts = EnrolmentFacts(
            scope=self.scope,
            user=self.actor.user,
            now=self.now,
            workers=self.refs.workers,
            live_by_worker=_live_enrolments(self._worker_ids(records)),
        )

    @staticmethod
    def _worker_ids(records: Sequence[CleanedEnrolment]) -> list[str]:
        return [r.values["worker_id"] for r in records if r.values.get("worker_id")]

    def decide(self, record: CleanedEnrolment, current: Enrolment | None) -> Decision:
        return decide_enrolment(record, current, facts=self.facts, mode=self.mode, keep_invalid=self.keep_invalid)

    def status_of(self, row: Enrolment) -> str | None:
        return row.status

    def written(self, saved: Saved[Enrolment]) -> None:
        row = saved.row
        if not row.needs_correction and row.status in LIVE_STATUSES:
            self.facts.live_by_worker[row.worker_id] = (row.id, row.village_id)

    def outcome(
        self, record_id: str, result: Result, row: Enrolment | None, error: ServiceError | None
    ) -> EnrolmentOutcome:
        return EnrolmentOutcome(id=record_id, result=result, row=row, error=error)


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
    is submitted when the caller's role may and the worker has consent on file. The shared
    rules are the skeleton's (villages/upsert.py), the enrolment's own `enrolment.decisions`.
    """
    table = EnrolmentTable(refs=refs, actor=actor, mode=mode, keep_invalid=keep_invalid, now=timezone.now())
    return records_save(table, records)


def _raise_if_error(outcome: EnrolmentOutcome) -> EnrolmentOutcome:
    if outcome.error is not None:
        raise outcome.error
    return outcome


def enrolment_create(*, actor: Actor, data: Any, extra_workers: Collection[Worker] = ()) -> EnrolmentOutcome:
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
        "allocation": enrolment.allocation_id,
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
