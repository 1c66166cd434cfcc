"""One save path for client records (workers, enrolments): the upsert skeleton.

Every way a record arrives (REST create and PATCH, the bulk endpoints, the sync push, the
spreadsheet import) ends in `records_save`, which handles a list of cleaned records with a
constant number of queries whatever their number:

1. lock the ids being written (and the table's own keys: NIKs, the people being enrolled) with
   advisory locks, in the one order of config/locks.py; read the stored rows and what the table's
   rules need, once (`RecordTable.lock`, `RecordTable.prepare`);
2. for each record, in order, decide (no query, no clock): first what every table shares, then
   the table's own rules (`RecordTable.decide`, a pure function per table, tested on its own);
3. write: one INSERT for the new rows, one UPDATE for the changed ones, one audit INSERT.

What every table shares, the contract clients rely on:
- an id twice in one request: the second is `duplicate_in_request`;
- a stored id outside the caller's areas: `not_found` (`idempotency_key_reused` for a create:
  the id is taken, by whom is not the caller's business);
- UPDATE of a missing id: `not_found`;
- a tombstone: `record_deleted` (`not_found` for UPDATE), except that a create replayed with the
  same body answers `unchanged` with the tombstone;
- a create of a stored live id: `unchanged` when it is a replay (the same body, or nothing it
  says differs from the row), else `idempotency_key_reused`;
- otherwise a record that changes nothing (derived fields such as warnings aside) is `unchanged`
  whatever version it was based on, so a replayed update succeeds; a record based on another
  version than the stored one is `precondition_failed` (412); a change bumps `version`, records
  who and when, and writes one audit event (`create`, `update`; `status` for a status move).
Refusing one record never affects the others. Nothing is written for a refused record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from django.db import IntegrityError, transaction

from config.bulk import insert_models, new_instance, update_models
from config.errors import Conflict, IdempotencyKeyReused, NotFound, PreconditionFailed, ServiceError
from config.locks import lock_keys
from config.pii import blind_index_memo
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction
from villages.records import ClientRecord, DuplicateInRequest, RecordDeleted, storable_ids
from villages.scope import Scope


class SaveMode(StrEnum):
    CREATE = "create"  # POST: a new id, or a replay of the same create
    UPDATE = "update"  # PATCH: the id must exist in scope
    UPSERT = "upsert"  # bulk, sync and import: create or replace


class Result(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    INVALID = "invalid"


class Cleaned(Protocol):
    """What the skeleton needs of a cleaned record (workers.validation, enrolment.validation)."""

    id: str
    version: int | None  # the version the client based this on (If-Match), if any

    def request_hash(self) -> str: ...


# --- what a table's decision function answers for one record --------------------------------------


@dataclass(frozen=True)
class Refuse:
    """The record is refused with this error (its outcome is `invalid`)."""

    error: ServiceError


@dataclass(frozen=True)
class Replay:
    """The record is the stored row again: `unchanged`, nothing written."""


@dataclass(frozen=True)
class Write:
    """What the record would write. The skeleton decides whether that is a create, a change or
    nothing (and refuses stale versions); the table has already applied its own rules.

    - values: the columns (attnames) the record sets, compared with the stored row; the audit
      event's `changes` are their differences;
    - on_create: columns set only when the row is new (who moved its status and when, ...);
    - create_context: the `create` event's context;
    - status, status_values: a table with a status says which status the row has after the save;
      a move is applied with `status_values` and audited as its own `status` event;
    - locked: the stored row may not change (an enrolment the registry holds): the refusal, used
      only when the record would change something.
    """

    values: dict[str, Any]
    on_create: dict[str, Any] = field(default_factory=dict)
    create_context: dict[str, Any] = field(default_factory=dict)
    status: str | None = None
    status_values: dict[str, Any] = field(default_factory=dict)
    locked: ServiceError | None = None


Decision = Refuse | Replay | Write

R = TypeVar("R", bound=ClientRecord)
C = TypeVar("C", bound=Cleaned)
O = TypeVar("O")  # noqa: E741 (the outcome type of a table)


@dataclass(frozen=True)
class Saved(Generic[R]):
    """A row the save wrote, with what changed (`{field: [before, after]}`, empty on create)."""

    row: R
    write: Write
    created: bool
    changes: Mapping[str, list[Any]]


@dataclass
class Outcome(Generic[R]):
    """What a save did with one record, as the endpoints answer it: the result, the stored row
    (None when the record was refused) and the error or field messages."""

    id: str
    result: Result
    row: R | None = None
    error: ServiceError | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)

    @property
    def saved(self) -> R:
        """The stored row of an outcome that is not `invalid`."""
        if self.row is None:
            raise ValueError(f"{self.id} was not saved ({self.result})")
        return self.row


class RecordTable(Generic[R, C, O]):
    """A table's part of the save. Subclasses set the class attributes and implement `decide`
    (pure: no query, no clock) and `outcome`; the hooks default to doing nothing."""

    model: type[R]
    object_type: str  # the audit log's object_type
    lock_namespace: str  # advisory lock namespace of the ids (config/locks.py)
    update_fields: Sequence[str]  # columns an UPDATE writes
    derived_fields: frozenset[str] = frozenset()  # a difference in these alone is no change

    def __init__(self, *, actor: Actor, scope: Scope, mode: SaveMode, keep_invalid: bool, now: dt.datetime) -> None:
        self.actor, self.scope, self.mode, self.keep_invalid, self.now = actor, scope, mode, keep_invalid, now

    def lock(self, records: Sequence[C]) -> None:
        """Locks the table's other keys (after the ids, before any read)."""

    def prepare(self, records: Sequence[C], existing: Mapping[str, R]) -> None:
        """Reads what `decide` needs, once for all the records."""

    def decide(self, record: C, current: R | None) -> Decision:
        raise NotImplementedError

    def village_of(self, row: R) -> str:
        """The village a row belongs to (scope and audit)."""
        return row.village_id

    def status_of(self, row: R) -> str | None:
        """A table with a status (enrolments) answers it; the skeleton audits its moves."""
        return None

    def audit_value(self, name: str, value: Any) -> Any:
        """A value as the audit log keeps it (dates as text; personal identifiers masked)."""
        return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value

    def written(self, saved: Saved[R]) -> None:
        """A row is about to be written (in memory: later records of the request see it)."""

    def after_write(self, saved: list[Saved[R]]) -> None:
        """Inside the transaction, after the writes and before the audit insert."""

    def outcome(self, record_id: str, result: Result, row: R | None, error: ServiceError | None) -> O:
        raise NotImplementedError


def _diff(table: RecordTable[Any, Any, Any], row: ClientRecord, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [table.audit_value(name, getattr(row, name)), table.audit_value(name, value)]
        for name, value in values.items()
        if getattr(row, name) != value
    }


@transaction.atomic
@blind_index_memo()  # one save indexes each NIK once, not per lock, duplicate key and column
def records_save(table: RecordTable[R, C, O], records: Sequence[C]) -> list[O]:
    """Saves cleaned records of one table; one outcome per record, in order. Idempotent (see the
    module's docstring). Raises Conflict only when a writer that bypassed the locks got in."""
    actor, mode, now = table.actor, table.mode, table.now
    user = actor.user
    user_id = user.pk if user is not None else None
    ids = storable_ids(r.id for r in records)  # a bad id is its record's error, never a query
    lock_keys(table.lock_namespace, ids)
    table.lock(records)
    existing: dict[str, R] = {row.id: row for row in table.model._default_manager.filter(id__any=set(ids))}
    table.prepare(records, existing)

    outcomes: list[O] = []
    to_create: list[R] = []
    to_update: list[R] = []
    saved: list[Saved[R]] = []
    events: list[AuditEntry] = []
    seen: set[str] = set()
    object_type = table.object_type

    def refuse(record: C, error: ServiceError) -> None:
        outcomes.append(table.outcome(record.id, Result.INVALID, None, error))

    for record in records:
        if record.id and record.id in seen:
            refuse(record, DuplicateInRequest())
            continue
        seen.add(record.id)
        current = existing.get(record.id)
        if current is not None and not table.scope.covers(table.village_of(current)):
            refuse(record, IdempotencyKeyReused() if mode == SaveMode.CREATE else NotFound())
            continue
        if current is None and mode == SaveMode.UPDATE:
            refuse(record, NotFound())
            continue
        if current is not None and current.deleted_at is not None:
            if mode == SaveMode.CREATE and current.request_hash == record.request_hash():
                outcomes.append(table.outcome(record.id, Result.UNCHANGED, current, None))
            else:
                refuse(record, RecordDeleted() if mode != SaveMode.UPDATE else NotFound())
            continue

        decision = table.decide(record, current)
        if isinstance(decision, Refuse):
            refuse(record, decision.error)
            continue
        if isinstance(decision, Replay):
            outcomes.append(table.outcome(record.id, Result.UNCHANGED, current, None))
            continue

        if current is None:
            row = new_instance(
                table.model,
                {
                    "id": record.id,
                    **decision.values,
                    **decision.on_create,
                    "version": 1,
                    "request_hash": record.request_hash(),
                    "created_by_id": user_id,
                    "updated_by_id": user_id,
                    "created_on_device": actor.device,
                },
            )
            to_create.append(row)
            done = Saved(row=row, write=decision, created=True, changes={})
            table.written(done)
            saved.append(done)
            outcomes.append(table.outcome(record.id, Result.CREATED, row, None))
            events.append(
                AuditEntry(
                    AuditAction.CREATE, object_type, row.id, table.village_of(row), None, decision.create_context
                )
            )
            continue

        changes = _diff(table, current, decision.values)
        status_change = None
        stored_status = table.status_of(current)
        if decision.status is not None and decision.status != stored_status:
            status_change = [stored_status, decision.status]
        # Derived fields (warnings) are the server's: a difference in them alone is no change,
        # so a replay stays a replay.
        substantive = status_change is not None or any(name not in table.derived_fields for name in changes)
        if mode == SaveMode.CREATE:
            if current.request_hash == record.request_hash() or not substantive:
                outcomes.append(table.outcome(record.id, Result.UNCHANGED, current, None))
            else:
                refuse(record, IdempotencyKeyReused())
            continue
        if not substantive:
            outcomes.append(table.outcome(record.id, Result.UNCHANGED, current, None))
            continue
        if decision.locked is not None:
            refuse(record, decision.locked)
            continue
        if record.version is not None and record.version != current.version:
            refuse(record, PreconditionFailed(details={"current_version": current.version}))
            continue
        for name, value in decision.values.items():
            setattr(current, name, value)
        if status_change is not None:
            for name, value in decision.status_values.items():
                setattr(current, name, value)
        current.version += 1
        current.updated_by = user
        current.updated_at = now
        to_update.append(current)
        done = Saved(row=current, write=decision, created=False, changes=changes)
        table.written(done)
        saved.append(done)
        outcomes.append(table.outcome(record.id, Result.UPDATED, current, None))
        village = table.village_of(current)
        if changes:
            events.append(
                AuditEntry(AuditAction.UPDATE, object_type, current.id, village, changes, {"version": current.version})
            )
        if status_change is not None:
            events.append(
                AuditEntry(AuditAction.STATUS, object_type, current.id, village, {"status": status_change}, {})
            )

    try:
        with transaction.atomic():
            insert_models(to_create)
            update_models(to_update, table.update_fields)
    except IntegrityError as exc:
        # Only a writer that bypassed the locks above can get here; the client may simply retry.
        raise Conflict() from exc
    table.after_write(saved)
    audit_events(actor, events)
    return outcomes
