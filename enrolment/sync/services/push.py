"""Offline sync, the push (API.md, "Offline sync").

Push: the device's created/updated/deleted records in one transaction, through the same services
as the REST endpoints (cleaning, scoping, NIK uniqueness, workflow, audit). If a pushed record was
changed on the server after the device's cursor and the push would change it again, the whole
push is refused (409 `sync_conflict`) and nothing is applied: the app pulls, WatermelonDB merges,
and the app pushes again. A record repeating what the server holds is no change, so a push sent
again after a lost response applies nothing and conflicts with nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid, PermissionDenied, ServiceError
from config.locks import lock_keys
from enrolment.models import Enrolment
from enrolment.services import (
    EnrolmentOutcome,
    enrolment_as_input,
    enrolment_delete,
    enrolment_refs,
    enrolments_save,
)
from enrolment.sync import wire
from enrolment.sync.models import SyncQuarantine
from enrolment.sync.services.common import MAX_PUSH_RECORDS, PUSH_ROLES, TABLES, SyncConflict, TooManyRecords
from enrolment.validation import clean_enrolment
from villages.audit import Actor, audit_event
from villages.models import AuditAction, Device
from villages.scope import scope_of
from villages.sync_clock import Snapshot, snapshot_for
from workers.models import Worker
from workers.services import (
    Result,
    SaveMode,
    SaveOutcome,
    lock_niks,
    worker_as_input,
    worker_delete,
    worker_refs,
    workers_save,
)
from workers.validation import CleanedWorker, clean_worker


@dataclass
class PushedTable:
    upserts: list[dict[str, Any]]
    deleted: list[str]


def parse_changes(changes: Any) -> dict[str, PushedTable]:
    """The push body's shape, checked before anything is touched (a 400 names the bad part).
    Unknown tables and unknown keys are ignored, as WatermelonDB's protocol asks."""
    if not isinstance(changes, Mapping):
        raise FieldsInvalid(fields={"changes": [_("Send the changes as an object of tables.")]})
    parsed: dict[str, PushedTable] = {}
    total = 0
    for table in TABLES:
        body = changes.get(table)
        if body is None:
            parsed[table] = PushedTable([], [])
            continue
        if not isinstance(body, Mapping):
            raise FieldsInvalid(fields={f"changes.{table}": [_("Send created, updated and deleted lists.")]})
        upserts: list[dict[str, Any]] = []
        for kind in ("created", "updated"):
            records = body.get(kind) or []
            if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
                raise FieldsInvalid(fields={f"changes.{table}.{kind}": [_("Send a list of records.")]})
            for index, record in enumerate(records):
                if not isinstance(record.get("id"), str) or not record["id"]:
                    raise FieldsInvalid(fields={f"changes.{table}.{kind}": [_("Every record needs its id.")]})
                for column in wire.JSON_COLUMNS:
                    value = record.get(column)
                    if isinstance(value, str) and len(value) > settings.SYNC_MAX_JSON_COLUMN_CHARS:
                        raise FieldsInvalid(
                            fields={
                                f"changes.{table}.{kind}.{index}.{column}": [
                                    _("Too long: at most %(limit)d characters.")
                                    % {"limit": settings.SYNC_MAX_JSON_COLUMN_CHARS}
                                ]
                            }
                        )
            upserts.extend(dict(r) for r in records)
        deleted = body.get("deleted") or []
        if not isinstance(deleted, list) or not all(isinstance(i, str) for i in deleted):
            raise FieldsInvalid(fields={f"changes.{table}.deleted": [_("Send a list of ids.")]})
        parsed[table] = PushedTable(upserts, list(dict.fromkeys(deleted)))
        total += len(upserts) + len(deleted)
    if total > MAX_PUSH_RECORDS:
        raise TooManyRecords(details={"limit": MAX_PUSH_RECORDS, "count": total})
    return parsed


@dataclass
class PushSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    needs_correction: int = 0

    def count(self, result: Result, flagged: bool) -> None:
        setattr(self, result.value, getattr(self, result.value) + 1)
        self.needs_correction += int(flagged and result in (Result.CREATED, Result.UPDATED))


@dataclass
class PushResult:
    summary: dict[str, PushSummary]
    quarantined: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": {table: vars(summary) for table, summary in self.summary.items()},
            "quarantined": self.quarantined,
        }


class _Push:
    """One push, applied inside the caller's transaction."""

    def __init__(self, actor: Actor, device: Device | None, since: Snapshot | None) -> None:
        assert actor.user is not None
        self.actor, self.user, self.device, self.since = actor, actor.user, device, since
        self.scope = scope_of(actor.user)
        self.conflicts: dict[str, list[str]] = {"workers": [], "enrolments": []}
        self.quarantined: list[dict[str, Any]] = []
        self.summary = {table: PushSummary() for table in TABLES}
        self.touch: dict[str, set[str]] = {"workers": set(), "enrolments": set()}

    def changed_since(self, stored: Mapping[str, Any]) -> set[str]:
        """Ids whose last write the device's snapshot did not see (all of them when the device
        sends no cursor this server knows)."""
        return {
            record_id
            for record_id, row in stored.items()
            if self.scope.covers(row.village_id) and (self.since is None or not self.since.saw(row.sync_txid))
        }

    def refuse(self, table: str, raw: Mapping[str, Any] | str, error: ServiceError, *, stored: Any = None) -> None:
        """Keeps a record the server cannot store, and makes sure the device gets the server's
        own version of it back on its next pull (when there is one it may see)."""
        record = dict(raw) if isinstance(raw, Mapping) else {"id": raw, "_deleted": True}
        record_id = str(record.get("id", ""))[:200]
        named = record.get("village")
        village = named if isinstance(named, str) else ""
        if stored is not None and self.scope.covers(stored.village_id):
            village = stored.village_id
            self.touch[table].add(stored.id)
        area = village if village and len(village) <= 13 else (self.scope.codes[0] if self.scope.codes else "")
        fields = error.details.get("fields")
        SyncQuarantine.objects.create(
            device=self.device, user=self.user, table=table, record_id=record_id, area_code=area,
            record=record, code=error.code, errors=fields or {"non_field_errors": [str(error.message)]},
        )  # fmt: skip
        self.quarantined.append(
            {"table": table, "id": record_id, "code": error.code, "message": str(error.message), "fields": fields or {}}
        )

    def load(self, parsed: Mapping[str, PushedTable]) -> None:
        """Locks the pushed ids (workers, then enrolments: the order every writer uses) and reads
        what the server holds, before anything is applied: the push's own writes (a worker's move
        carries its enrolments along) must not look like changes made on the server."""
        self.stored: dict[str, dict[str, Any]] = {}
        self.changed: dict[str, set[str]] = {}
        for table, model, key in (("workers", Worker, "worker"), ("enrolments", Enrolment, "enrolment")):
            ids = [r["id"] for r in parsed[table].upserts] + parsed[table].deleted
            lock_keys(key, ids)
            stored = {row.id: row for row in model._default_manager.filter(id__in=ids)}
            self.stored[table], self.changed[table] = stored, self.changed_since(stored)
            if table == "workers":
                # Cleaned now, so their NIKs are locked before the enrolments (worker, nik,
                # enrolment: the one order); workers_save takes the same NIK locks again.
                self.cleaned_workers = self.clean_workers(parsed["workers"])
                lock_niks(self.cleaned_workers)

    def clean_workers(self, pushed: PushedTable) -> list[CleanedWorker]:
        stored = self.stored["workers"]
        inputs = []
        for raw in pushed.upserts:
            current = stored.get(raw["id"])
            visible = current is not None and self.scope.covers(current.village_id)
            shown = worker_as_input(current) if current is not None and visible else None
            inputs.append(wire.worker_input(raw, current, shown))
        refs = worker_refs(user=self.user, records=inputs)
        cleaned = [clean_worker(data, refs=refs) for data in inputs]
        for record in cleaned:
            record.version = None  # conflicts are decided by the cursor, not by versions
        return cleaned

    def workers(self, pushed: PushedTable) -> None:
        stored, changed = self.stored["workers"], self.changed["workers"]
        cleaned = self.cleaned_workers
        outcomes: list[SaveOutcome] = workers_save(
            actor=self.actor, records=cleaned, mode=SaveMode.UPSERT, keep_invalid=True
        )
        for raw, outcome in zip(pushed.upserts, outcomes, strict=True):
            self._settle("workers", raw, outcome.result, outcome.error, stored.get(raw["id"]), changed, outcome.worker)

    def enrolments(self, pushed: PushedTable) -> None:
        stored, changed = self.stored["enrolments"], self.changed["enrolments"]
        inputs = []
        for raw in pushed.upserts:
            current = stored.get(raw["id"])
            visible = current is not None and self.scope.covers(current.village_id)
            shown = enrolment_as_input(current) if current is not None and visible else None
            inputs.append(wire.enrolment_input(raw, shown))
        refs = enrolment_refs(user=self.user, records=inputs)
        cleaned = [clean_enrolment(data, refs=refs, ignore_status=True) for data in inputs]
        for record in cleaned:
            record.version = None
        outcomes: list[EnrolmentOutcome] = enrolments_save(
            actor=self.actor, records=cleaned, refs=refs, mode=SaveMode.UPSERT, keep_invalid=True
        )
        for raw, outcome in zip(pushed.upserts, outcomes, strict=True):
            self._settle(
                "enrolments", raw, outcome.result, outcome.error, stored.get(raw["id"]), changed, outcome.enrolment
            )

    def deletes(self, table: str, ids: list[str], delete: Callable[[str], object]) -> None:
        """Soft deletes through the table's own delete service (enrolments before workers, whose
        delete refuses a person with a live enrolment)."""
        stored, changed = self.stored[table], self.changed[table]
        for record_id in ids:
            current = stored.get(record_id)
            if current is None or not self.scope.covers(current.village_id) or current.deleted_at is not None:
                continue  # a delete of a missing record is ignored (WatermelonDB's rule)
            if record_id in changed:
                self.conflicts[table].append(record_id)
                continue
            try:
                delete(record_id)
                self.summary[table].deleted += 1
            except ServiceError as error:
                self.refuse(table, record_id, error, stored=current)

    def _settle(
        self,
        table: str,
        raw: Mapping[str, Any],
        result: Result,
        error: ServiceError | None,
        current: Any,
        changed: set[str],
        saved: Any,
    ) -> None:
        if raw["id"] in changed and (result == Result.UPDATED or error is not None):
            # The server changed it after the device's pull, and the device's version differs.
            self.conflicts[table].append(raw["id"])
            return
        if error is not None:
            self.refuse(table, raw, error, stored=current)
            return
        self.summary[table].count(result, bool(saved is not None and saved.needs_correction))

    def finish(self) -> None:
        for table, model in (("workers", Worker), ("enrolments", Enrolment)):
            if self.touch[table]:
                # A no-op write: the trigger stamps it, so the next pull carries the server's version.
                model._default_manager.filter(id__in=self.touch[table]).update(version=F("version"))


def sync_push(
    *, actor: Actor, device: Device | None, last_pulled_at: int | None, changes: Any, pending: int | None
) -> PushResult:
    """Applies a device's changes in one transaction. Raises SyncConflict (nothing applied)."""
    user = actor.user
    assert user is not None
    if not (user.is_admin or user.role in PUSH_ROLES):
        raise PermissionDenied()
    parsed = parse_changes(changes)
    with transaction.atomic():
        push = _Push(actor, device, snapshot_for(last_pulled_at) if last_pulled_at else None)
        push.load(parsed)
        push.workers(parsed["workers"])
        push.enrolments(parsed["enrolments"])
        push.deletes(
            "enrolments",
            parsed["enrolments"].deleted,
            lambda record_id: enrolment_delete(actor=actor, enrolment_id=record_id, if_match=None),
        )
        push.deletes(
            "workers",
            parsed["workers"].deleted,
            lambda record_id: worker_delete(actor=actor, worker_id=record_id, if_match=None),
        )
        if any(push.conflicts.values()):
            raise SyncConflict(details={table: sorted(ids) for table, ids in push.conflicts.items() if ids})
        push.finish()
        audit_event(
            actor,
            AuditAction.SYNC_PUSH,
            "sync",
            context={
                "last_pulled_at": last_pulled_at,
                "applied": {table: vars(summary) for table, summary in push.summary.items()},
                "quarantined": len(push.quarantined),
            },
        )
        if device is not None:
            Device.objects.filter(pk=device.pk).update(
                last_push_at=timezone.now(), **({"pending_count": pending} if pending is not None else {})
            )
    return PushResult(summary=push.summary, quarantined=push.quarantined)
