"""The offline-sync change clock: which writes a device has already seen.

A pull answers "every change after cursor C" and returns a new cursor. A timestamp or a sequence
column stamped at write time skips changes: transaction A stamps 100, transaction B stamps 101 and
commits, a pull reads B and returns 101, then A commits; A's row (100) is below every later cursor
and never reaches the device. Commit order is not stamp order.

PostgreSQL (the transaction-snapshot technique): a BEFORE trigger stamps each written row with
the id of the writing transaction (`pg_current_xact_id()`), and a pull reads its rows from one
snapshot and keeps that snapshot (`xmin:xmax:running ids`); the cursor it returns names it. The
next pull sends back rows whose stamp that snapshot did not see: stamps from `xmin` up (an index
range), less those the snapshot saw (below `xmax` and not running). A transaction still running
at the first pull, however late it commits, is in the second; one that had committed is not
sent twice. Nothing is skipped and nothing repeats. A push is in conflict when a record it
changes carries a stamp the device's snapshot did not see.

SQLite (the embedded mode) has a single writer at a time, so a counter bumped by the triggers
inside each write (`villages_syncclock`) does order writes as they commit; the cursor is the
counter + 1, read in the pull's own read transaction.

Triggers, not application code, do the stamping so that every write path is covered: the ORM,
COPY (config/bulk.py), queryset updates from Celery, the admin, raw SQL in a migration. Their SQL
lives in the migrations that created them (villages 0003: the functions and the log triggers;
workers 0004, enrolment 0008: each record table's), frozen there: a table that joins the sync
gets a migration of its own with the same two triggers (`<table>_sync_stamp`, `<table>_sync_move`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from villages.models import SyncSnapshot

_SQLITE_NOW = "(SELECT value FROM villages_syncclock WHERE id = 1)"


@dataclass(frozen=True)
class Snapshot:
    """Which transactions a pull saw: all below `xmin`, none from `xmax`, and those in between
    except the ones still running (`running`) when it was taken."""

    xmin: int
    xmax: int
    running: frozenset[int] = frozenset()

    def saw(self, txid: int) -> bool:
        return txid < self.xmin or (txid < self.xmax and txid not in self.running)

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        xmin, xmax, running = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in running.split(",") if x))


def take_snapshot(previous: int | None = None) -> tuple[int, Snapshot | None]:
    """The pull's cursor, and the snapshot behind `previous` (the cursor the device sent; None
    when unknown). Call first thing in the pull's transaction (PostgreSQL: REPEATABLE READ, so
    every query of the pull reads the snapshot the new cursor stands for).

    PostgreSQL keeps the snapshot (villages.SyncSnapshot) and the cursor is its id: the next pull
    asks which rows this snapshot did not see, exactly. The cursor alone could only be `xmin`, and
    `xmin` is the whole cluster's oldest running transaction: rows committed while any other
    transaction ran (a report, an import, a test in another database) would be sent again, and a
    push touching them would look like a conflict.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {_SQLITE_NOW} + 1")
            (value,) = cursor.fetchone()
        return int(value), snapshot_for(previous) if previous else None
    with connection.cursor() as cursor:
        # One round trip: keep this snapshot, read the previous one. PostgreSQL leaves the
        # snapshot's own transaction out of its running list (its writes are visible to itself),
        # so a pull inside a transaction that has already written (merge then pull in one
        # transaction) would name that transaction as seen: whenever an older transaction holds
        # `xmin` below it, its later writes, the merge's tombstone among them, would fall behind
        # every later cursor. It is still running, so it is listed as running; the rows it wrote
        # before the pull are sent again by the next one, which repeats and never skips.
        cursor.execute(
            "INSERT INTO villages_syncsnapshot (snapshot, created_at)"
            " SELECT pg_snapshot_xmin(s) || ':' || pg_snapshot_xmax(s) || ':' || array_to_string(ARRAY("
            "   SELECT x FROM pg_snapshot_xip(s) x UNION SELECT pg_current_xact_id_if_assigned()"
            "   WHERE pg_current_xact_id_if_assigned() IS NOT NULL ORDER BY 1), ','), now()"
            " FROM pg_current_snapshot() s"
            " RETURNING id, (SELECT p.snapshot FROM villages_syncsnapshot p WHERE p.id = %s)",
            [previous or 0],
        )
        cursor_value, previous_text = cursor.fetchone()
    return int(cursor_value), Snapshot.parse(previous_text) if previous_text else None


def snapshot_for(cursor_value: int) -> Snapshot | None:
    """The snapshot behind a cursor a device sends back; None when this server never gave it
    (or pruned it: SYNC_SNAPSHOT_RETENTION_DAYS)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {_SQLITE_NOW} + 1")
            (now,) = cursor.fetchone()
        return Snapshot(cursor_value, cursor_value) if 0 < cursor_value <= now else None
    text = SyncSnapshot.objects.filter(pk=cursor_value).values_list("snapshot", flat=True).first()
    return Snapshot.parse(text) if text is not None else None


def prune_snapshots(*, older_than_days: int) -> int:
    """Forgets snapshots no device should still hold; a device back after longer gets a full pull."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    deleted, _ = SyncSnapshot.objects.filter(created_at__lt=cutoff).delete()
    return deleted
