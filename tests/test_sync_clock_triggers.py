"""The sync-clock triggers stamp every write, whatever writes it (villages/sync_clock.py).

Vendor-neutral assertions: on PostgreSQL the stamps are transaction ids, on SQLite (the embedded
mode, run by scripts/test's SQLite step) the value of villages_syncclock, bumped by the triggers
themselves; there the clock's exact value is asserted too. Each write below is a separate
transaction (a committed test: one, since each flush reloads the reference rows).
"""

from __future__ import annotations

from django.db import connection, transaction

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, VILLAGE_B, committed
from tests.factories import EnrolmentFactory, UserFactory, WorkerFactory
from villages.models import Assignment, RecordMove, ScopeChange, SyncClock
from villages.sync_clock import take_snapshot
from workers.models import Worker


def _clock() -> int:
    return SyncClock.objects.get(pk=1).value if connection.vendor == "sqlite" else 0


@committed
def test_every_write_is_stamped_in_commit_order_and_moves_and_scope_changes_are_logged():
    with transaction.atomic():
        worker = WorkerFactory(village_id=GEDUNG_WANI)
    created = Worker.objects.values("sync_txid", "sync_created_txid").get(pk=worker.pk)
    assert created["sync_txid"] == created["sync_created_txid"] > 0
    clock = _clock()

    with transaction.atomic():
        Worker.objects.filter(pk=worker.pk).update(full_name="Siti Aminah")  # a queryset update, no save()
    renamed = Worker.objects.values("sync_txid", "sync_created_txid").get(pk=worker.pk)
    assert renamed["sync_txid"] > created["sync_txid"]
    assert renamed["sync_created_txid"] == created["sync_created_txid"]

    with transaction.atomic():
        Worker.objects.filter(pk=worker.pk).update(village_id=VILLAGE_B)
    moved = Worker.objects.values_list("sync_txid", flat=True).get(pk=worker.pk)
    assert moved > renamed["sync_txid"]
    move = RecordMove.objects.get()
    assert (move.table, move.record_id, move.from_village, move.to_village) == (
        "workers",
        str(worker.pk),
        GEDUNG_WANI,
        VILLAGE_B,
    )
    assert move.sync_txid > renamed["sync_txid"]
    if connection.vendor == "sqlite":
        # Rename: one tick. Move: the record's tick and the log row's own. SQLite does not define
        # the order in which two triggers on one UPDATE fire (it changes when the schema is
        # reloaded), and a pull needs only both stamps past the cursor, so either order passes.
        assert (renamed["sync_txid"], _clock()) == (clock + 1, clock + 3)
        assert sorted((move.sync_txid, moved)) == [clock + 2, clock + 3]

    # An enrolment: stamped; a pull's cursor sees what was written before it and nothing after.
    with transaction.atomic():
        enrolment = EnrolmentFactory()
    stamp = Enrolment.objects.values_list("sync_txid", flat=True).get(pk=enrolment.pk)
    assert stamp > 0

    with transaction.atomic():
        cursor, _previous = take_snapshot()
    with transaction.atomic():
        Enrolment.objects.filter(pk=enrolment.pk).update(funding_decree="Perdes 3/2026")
    with transaction.atomic():
        _next_cursor, seen = take_snapshot(cursor)
    later = Enrolment.objects.values_list("sync_txid", flat=True).get(pk=enrolment.pk)
    assert seen is not None
    assert seen.saw(stamp) is True
    assert seen.saw(later) is False
    if connection.vendor == "sqlite":
        assert cursor == later  # the cursor is the clock + 1 at the pull: the next write's stamp

    # Assignments: each added or removed area is logged for the official's devices, stamped.
    with transaction.atomic():
        user = UserFactory(areas=[GEDUNG_WANI])
    with transaction.atomic():
        Assignment.objects.create(user=user, area_id=VILLAGE_B)
    with transaction.atomic():
        Assignment.objects.filter(user=user, area_id=GEDUNG_WANI).delete()

    changes = list(ScopeChange.objects.filter(user=user).order_by("sync_txid").values_list("area_code", "added"))
    assert changes == [(GEDUNG_WANI, True), (VILLAGE_B, True), (GEDUNG_WANI, False)]
    stamps = list(ScopeChange.objects.filter(user=user).order_by("id").values_list("sync_txid", flat=True))
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3
    assert stamps[0] > 0
