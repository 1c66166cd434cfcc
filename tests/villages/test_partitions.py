"""The audit log and the sync snapshots are partitioned by month; months are made ahead and old
ones dropped whole; the audit log stays append-only on every partition."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from villages.audit import Actor, audit_event
from villages.models import AuditEvent, SyncSnapshot
from villages.partitions import add_months, maintain_partitions, month_start, partitions
from villages.sync_clock import take_snapshot
from villages.tasks import villages_maintain_partitions

NOW = dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.UTC)


def month_names(table: str, first: dt.date, count: int) -> list[str]:
    return [f"{table}_p{add_months(first, n):%Y%m}" for n in range(count)]


def where(table: str, row_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [row_id])  # noqa: S608  (our table names)
        return cursor.fetchone()[0]


def test_both_tables_are_partitioned_by_month_and_writes_land_in_their_month(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT partrelid::regclass::text, partstrat FROM pg_partitioned_table ORDER BY 1")
        assert cursor.fetchall() == [("villages_auditevent", "r"), ("villages_syncsnapshot", "r")]
    event = audit_event(Actor.system(), "view", "worker", "w-1")
    cursor_id, _ = take_snapshot()
    this_month = f"{month_start(event.at):%Y%m}"
    assert where("villages_auditevent", event.pk) == f"villages_auditevent_p{this_month}"
    assert where("villages_syncsnapshot", cursor_id) == f"villages_syncsnapshot_p{this_month}"
    assert AuditEvent.objects.get(pk=event.pk).object_id == "w-1"
    assert SyncSnapshot.objects.filter(pk=cursor_id).count() == 1


def test_the_audit_log_is_append_only_on_every_partition(db, settings):
    settings.SYNC_SNAPSHOT_PARTITION_RETENTION_MONTHS = 0
    event = audit_event(Actor.system(), "view", "worker", "w-2")
    partition = where("villages_auditevent", event.pk)
    for statement in (f"UPDATE {partition} SET actor_username = 'x'", f"DELETE FROM {partition}"):  # noqa: S608
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    # A month made later by the maintenance task carries the trigger too.
    made = maintain_partitions(now=NOW.replace(year=2031), ahead=0)
    assert made.created == ("villages_auditevent_p203112", "villages_syncsnapshot_p203112")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO villages_auditevent (at, actor_username, action, object_type, object_id, area_code, context)"
            " VALUES ('2031-12-05', 'system', 'view', 'worker', 'w-3', '', '{}')"
        )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM villages_auditevent_p203112")
    assert AuditEvent.objects.filter(object_id__in=["w-2", "w-3"]).count() == 2


def test_maintenance_creates_the_months_ahead_and_is_idempotent(db, settings):
    settings.SYNC_SNAPSHOT_PARTITION_RETENTION_MONTHS = 0
    far = NOW.replace(year=2030)  # months the migration did not make
    first = maintain_partitions(now=far, ahead=2)
    assert first.created == (
        *month_names("villages_auditevent", dt.date(2030, 12, 1), 3),
        *month_names("villages_syncsnapshot", dt.date(2030, 12, 1), 3),
    )
    assert first.dropped == ()
    assert maintain_partitions(now=far, ahead=2).created == ()


def test_retention_detaches_and_drops_whole_months_past_it(db, settings):
    settings.AUDIT_RETENTION_MONTHS = 3
    settings.SYNC_SNAPSHOT_PARTITION_RETENTION_MONTHS = 0  # kept
    audit_event(Actor.system(), "view", "worker", "old-month")
    audit_table_before = partitions("villages_auditevent")
    current = month_start(dt.datetime.now(dt.UTC))
    later = dt.datetime.combine(add_months(current, 4), dt.time(), dt.UTC)

    report = maintain_partitions(now=later, ahead=0)

    kept_from = add_months(current, 1)
    expected_dropped = sorted(
        name for name in audit_table_before if name.endswith("_pold") or name[-6:] < f"{kept_from:%Y%m}"
    )
    assert sorted(report.dropped) == expected_dropped
    assert f"villages_auditevent_p{current:%Y%m}" in report.dropped
    assert all(name.startswith("villages_auditevent_") for name in report.dropped)
    assert not AuditEvent.objects.filter(object_id="old-month").exists()
    assert partitions("villages_auditevent") == sorted(
        {*audit_table_before, f"villages_auditevent_p{add_months(current, 4):%Y%m}"} - set(report.dropped)
    )
    assert "villages_syncsnapshot_pold" in partitions("villages_syncsnapshot")


def test_the_beat_task_runs_the_maintenance(db):
    assert villages_maintain_partitions() == {"created": [], "dropped": []}
