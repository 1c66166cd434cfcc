"""Offline sync, the pull (API.md, "Offline sync").

Pull: every change in the caller's areas after the device's cursor, read from one snapshot, with
a new cursor (villages/sync_clock.py explains why it never skips a change). Records the device
may no longer see come as `deleted`: tombstones, records that moved to a village outside its
areas (villages.RecordMove) and everything in areas the official lost (villages.ScopeChange).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from config.dberrors import safe_summary
from config.errors import PermissionDenied
from enrolment.models import Enrolment
from enrolment.sync import wire
from enrolment.sync.services.common import PULL_ROLES
from villages.audit import Actor, audit_event, audit_people
from villages.models import AuditAction, Device, RecordMove, ScopeChange, User
from villages.scope import Scope, scope_of
from villages.sync_clock import Snapshot, take_snapshot
from workers.models import Worker
from workers.permissions import may_see_full_nik

logger = logging.getLogger(__name__)


@dataclass
class TableChanges:
    created: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted}

    def __len__(self) -> int:
        return len(self.created) + len(self.updated) + len(self.deleted)


def _area_q(codes: Iterable[str]) -> Q:
    condition = Q(pk__in=[])
    for code in codes:
        condition |= Q(village__code=code) | Q(village__code__startswith=code + ".")
    return condition


def _lost_areas(user: User, scope: Scope, since: Snapshot) -> tuple[set[str], set[str]]:
    """Areas removed from and added to the official since the cursor (net of the current scope)."""
    removed: set[str] = set()
    added: set[str] = set()
    for code, was_added, txid in ScopeChange.objects.filter(user=user, sync_txid__gte=since.xmin).values_list(
        "area_code", "added", "sync_txid"
    ):
        if not since.saw(txid):
            (added if was_added else removed).add(code)
    return {code for code in removed if not scope.covers(code)}, {code for code in added if scope.covers(code)}


def _table_changes(
    *,
    model: type[Model],
    table: str,
    source: tuple[str, ...],
    serialize: Any,
    scope: Scope,
    since: Snapshot | None,
    device: int | None,
    removed: set[str],
    added: set[str],
    moves: list[tuple[str, str, str, str, int]],
) -> TableChanges:
    changes = TableChanges()
    # Records that left the device's villages, and records that came into them, since its pull.
    gone: set[str] = set()
    moved_in: set[str] = set()
    if since is not None:
        for move_table, record_id, from_village, to_village, txid in moves:
            if move_table != table or since.saw(txid):
                continue
            if scope.covers(from_village) and not scope.covers(to_village):
                gone.add(record_id)
            elif scope.covers(to_village) and not scope.covers(from_village):
                moved_in.add(record_id)

    rows: QuerySet[Any] = scope.filter(model._default_manager.all(), "village__code")
    # A first pull needs no tombstones; later ones take the rows written by transactions the
    # device's snapshot did not see (stamps from its xmin up: one index range per village).
    rows = rows.filter(sync_txid__gte=since.xmin) if since else rows.filter(deleted_at__isnull=True)
    seen: set[str] = set()
    # A plain fetch, not a server-side cursor: three round trips fewer, and a village fits in memory.
    for row in rows.order_by().values(*source, *wire.ROW_STATE, "sync_txid"):
        if since is not None and since.saw(row["sync_txid"]):
            continue
        seen.add(row["id"])
        if row["deleted_at"] is not None:
            changes.deleted.append(row["id"])
        elif since is None or _new_to_device(row, since, device, moved_in):
            changes.created.append(serialize(row))
        else:
            changes.updated.append(serialize(row))
    if since is None:
        return changes

    # Records now in areas the official was given: the device has never had them.
    if added:
        extra = model._default_manager.filter(_area_q(added), deleted_at__isnull=True).exclude(id__in=seen)
        for row in extra.order_by().values(*source, *wire.ROW_STATE):
            seen.add(row["id"])
            changes.created.append(serialize(row))
    # Everything in areas the official lost.
    if removed:
        gone.update(model._default_manager.filter(_area_q(removed)).values_list("id", flat=True))
    changes.deleted.extend(sorted(gone - seen))
    return changes


def _new_to_device(row: Mapping[str, Any], since: Snapshot, device: int | None, moved_in: set[str]) -> bool:
    """`created` or `updated`: WatermelonDB treats a `created` record it already holds as an error
    and, if the officer deleted it locally meanwhile, re-creates it and drops the deletion. So a
    record is `created` only when this device cannot have it: created after its pull by someone
    else, or moved into its villages since."""
    if row["id"] in moved_in:
        return True
    if device is not None and row["created_on_device"] == device:
        return False  # the device pushed it (or created it through the API): it has it
    return not since.saw(row["sync_created_txid"])


def sync_pull(*, actor: Actor, device: Device | None, last_pulled_at: int | None, schema_version: int | None) -> dict:
    """The pull answer: {"changes": {table: {created, updated, deleted}}, "timestamp": cursor}."""
    user = actor.user
    assert user is not None
    if not (user.is_admin or user.role in PULL_ROLES):
        raise PermissionDenied()
    scope = scope_of(user)
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # Every query below reads the snapshot the cursor comes from. (Inside an enclosing
            # transaction, as in tests, each query reads a later snapshot instead: that can only
            # add rows stamped at or after the cursor, which the next pull repeats; nothing is lost.)
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # A cursor this server never gave, or forgot (a restored database, a device back after
        # SYNC_SNAPSHOT_RETENTION_DAYS), gives None: everything again, as for a first pull.
        cursor_value, since = take_snapshot(last_pulled_at)
        removed, added = _lost_areas(user, scope, since) if since else (set(), set())
        # Records that left a village, both tables in one query (a short log: the stamp index).
        moves = (
            list(
                RecordMove.objects.filter(sync_txid__gte=since.xmin).values_list(
                    "table", "record_id", "from_village", "to_village", "sync_txid"
                )
            )
            if since
            else []
        )
        full_nik = {"value": False}

        def worker_row(row: Mapping[str, Any]) -> dict[str, Any]:
            full = may_see_full_nik(user, row["village_id"])
            full_nik["value"] |= full
            return wire.worker_record(row, full_nik=full)

        workers = _table_changes(
            model=Worker, table="workers", source=wire.WORKER_SOURCE, serialize=worker_row,
            scope=scope, since=since, device=actor.device, removed=removed, added=added, moves=moves,
        )  # fmt: skip
        enrolments = _table_changes(
            model=Enrolment, table="enrolments", source=wire.ENROLMENT_SOURCE, serialize=wire.enrolment_record,
            scope=scope, since=since, device=actor.device, removed=removed, added=added, moves=moves,
        )  # fmt: skip
        event = audit_event(
            actor,
            AuditAction.SYNC_PULL,
            "sync",
            context={
                "last_pulled_at": last_pulled_at,
                "timestamp": cursor_value,
                "schema_version": schema_version,
                "workers": len(workers),
                "enrolments": len(enrolments),
                "full_nik": full_nik["value"],
            },
        )
        # Everyone whose record (or enrolment) went to the device, one audit row each (ids only,
        # one COPY); tombstones carry nothing of a person.
        audit_people(
            actor,
            event,
            (
                *((r["id"], r["village"]) for r in (*workers.created, *workers.updated)),
                *((r["worker"], r["village"]) for r in (*enrolments.created, *enrolments.updated)),
            ),
        )
    if device is not None:
        _note_pull(device)
    return {"changes": {"workers": workers.as_dict(), "enrolments": enrolments.as_dict()}, "timestamp": cursor_value}


def _note_pull(device: Device) -> None:
    """The device's last_pull_at, written after the pull's snapshot transaction and never failing
    it. Inside that REPEATABLE READ transaction, parallel pulls from one device (a retrying app)
    updated the same row and all but one failed with a serialization error (a 500). Here it is a
    READ COMMITTED update of a row another pull may hold: that pull is writing the same fact, so
    a locked row is skipped (SKIP LOCKED), and any database refusal is only logged."""
    try:
        with transaction.atomic():
            free = list(
                Device.objects.filter(pk=device.pk).select_for_update(skip_locked=True).values_list("pk", flat=True)
            )
            Device.objects.filter(pk__in=free).update(last_pull_at=timezone.now())
    except DatabaseError as problem:
        logger.warning("device %s: last_pull_at not written (%s)", device.pk, safe_summary(problem))
