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
COPY (config/bulk.py), queryset updates from Celery, the admin, raw SQL in a migration.
"""

# ruff: noqa: S608  (trigger DDL built from table names in this module, never from input)

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.utils import timezone

from villages.models import SyncSnapshot

PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION sync_stamp_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sync_txid := pg_current_xact_id()::text::bigint;
    IF TG_OP = 'INSERT' THEN
        NEW.sync_created_txid := NEW.sync_txid;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION sync_stamp_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sync_txid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END $$;

-- TG_ARGV[0]: the sync table name ("workers", "enrolments").
CREATE OR REPLACE FUNCTION sync_log_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO villages_recordmove ("table", record_id, from_village, to_village)
    VALUES (TG_ARGV[0], OLD.id, OLD.village_id, NEW.village_id);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sync_log_assignment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO villages_scopechange (user_id, area_code, added) VALUES (NEW.user_id, NEW.area_id, true);
    ELSE
        INSERT INTO villages_scopechange (user_id, area_code, added) VALUES (OLD.user_id, OLD.area_id, false);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER villages_recordmove_stamp BEFORE INSERT ON villages_recordmove
    FOR EACH ROW EXECUTE FUNCTION sync_stamp_log();
CREATE TRIGGER villages_scopechange_stamp BEFORE INSERT ON villages_scopechange
    FOR EACH ROW EXECUTE FUNCTION sync_stamp_log();
CREATE TRIGGER villages_assignment_scope AFTER INSERT OR DELETE ON villages_assignment
    FOR EACH ROW EXECUTE FUNCTION sync_log_assignment();
"""

PG_DROP_FUNCTIONS = """
DROP TRIGGER IF EXISTS villages_assignment_scope ON villages_assignment;
DROP TRIGGER IF EXISTS villages_scopechange_stamp ON villages_scopechange;
DROP TRIGGER IF EXISTS villages_recordmove_stamp ON villages_recordmove;
DROP FUNCTION IF EXISTS sync_log_assignment();
DROP FUNCTION IF EXISTS sync_log_move();
DROP FUNCTION IF EXISTS sync_stamp_log();
DROP FUNCTION IF EXISTS sync_stamp_record();
"""

_SQLITE_TICK = "UPDATE villages_syncclock SET value = value + 1 WHERE id = 1;"
_SQLITE_NOW = "(SELECT value FROM villages_syncclock WHERE id = 1)"

SQLITE_FUNCTIONS = [
    "INSERT INTO villages_syncclock (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;",
    f"""CREATE TRIGGER villages_recordmove_stamp AFTER INSERT ON villages_recordmove BEGIN
        {_SQLITE_TICK}
        UPDATE villages_recordmove SET sync_txid = {_SQLITE_NOW} WHERE id = NEW.id;
    END;""",
    f"""CREATE TRIGGER villages_scopechange_stamp AFTER INSERT ON villages_scopechange BEGIN
        {_SQLITE_TICK}
        UPDATE villages_scopechange SET sync_txid = {_SQLITE_NOW} WHERE id = NEW.id;
    END;""",
    """CREATE TRIGGER villages_assignment_scope_added AFTER INSERT ON villages_assignment BEGIN
        INSERT INTO villages_scopechange (user_id, area_code, added, sync_txid) VALUES (NEW.user_id, NEW.area_id, 1, 0);
    END;""",
    """CREATE TRIGGER villages_assignment_scope_removed AFTER DELETE ON villages_assignment BEGIN
        INSERT INTO villages_scopechange (user_id, area_code, added, sync_txid) VALUES (OLD.user_id, OLD.area_id, 0, 0);
    END;""",
]

SQLITE_DROP_FUNCTIONS = [
    "DROP TRIGGER IF EXISTS villages_assignment_scope_removed;",
    "DROP TRIGGER IF EXISTS villages_assignment_scope_added;",
    "DROP TRIGGER IF EXISTS villages_scopechange_stamp;",
    "DROP TRIGGER IF EXISTS villages_recordmove_stamp;",
]


def install_clock(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """The functions and the log triggers (villages migration)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FUNCTIONS)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FUNCTIONS:
            schema_editor.execute(statement)


def remove_clock(schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP_FUNCTIONS)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DROP_FUNCTIONS:
            schema_editor.execute(statement)


def install_record_triggers(schema_editor: BaseDatabaseSchemaEditor, db_table: str, sync_table: str) -> None:
    """Stamps a synced table's rows and logs their moves between villages."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TRIGGER {db_table}_sync_stamp BEFORE INSERT OR UPDATE ON {db_table}"
            " FOR EACH ROW EXECUTE FUNCTION sync_stamp_record();"
            f" CREATE TRIGGER {db_table}_sync_move AFTER UPDATE OF village_id ON {db_table}"
            " FOR EACH ROW WHEN (OLD.village_id IS DISTINCT FROM NEW.village_id)"
            f" EXECUTE FUNCTION sync_log_move('{sync_table}');"
        )
    elif vendor == "sqlite":
        # The AFTER triggers' own UPDATE does not fire them again (recursive_triggers is off);
        # the WHEN clause would stop the loop even if it were on.
        schema_editor.execute(
            f"""CREATE TRIGGER {db_table}_sync_insert AFTER INSERT ON {db_table} BEGIN
                {_SQLITE_TICK}
                UPDATE {db_table} SET sync_txid = {_SQLITE_NOW}, sync_created_txid = {_SQLITE_NOW}
                 WHERE id = NEW.id;
            END;"""
        )
        schema_editor.execute(
            f"""CREATE TRIGGER {db_table}_sync_update AFTER UPDATE ON {db_table}
                WHEN NEW.sync_txid IS OLD.sync_txid BEGIN
                {_SQLITE_TICK}
                UPDATE {db_table} SET sync_txid = {_SQLITE_NOW} WHERE id = NEW.id;
            END;"""
        )
        schema_editor.execute(
            f"""CREATE TRIGGER {db_table}_sync_move AFTER UPDATE OF village_id ON {db_table}
                WHEN OLD.village_id IS NOT NEW.village_id BEGIN
                INSERT INTO villages_recordmove ("table", record_id, from_village, to_village, sync_txid)
                VALUES ('{sync_table}', OLD.id, OLD.village_id, NEW.village_id, 0);
            END;"""
        )


def remove_record_triggers(schema_editor: BaseDatabaseSchemaEditor, db_table: str) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {db_table}_sync_move ON {db_table};"
            f" DROP TRIGGER IF EXISTS {db_table}_sync_stamp ON {db_table};"
        )
    elif vendor == "sqlite":
        for name in ("sync_move", "sync_update", "sync_insert"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {db_table}_{name};")


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
        # One round trip: keep this snapshot, read the previous one.
        cursor.execute(
            "INSERT INTO villages_syncsnapshot (snapshot, created_at) VALUES (pg_current_snapshot()::text, now())"
            " RETURNING id, (SELECT s.snapshot FROM villages_syncsnapshot s WHERE s.id = %s)",
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
