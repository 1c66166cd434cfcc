"""A pull inside a transaction that has already written (a test's one transaction, a merge then a
pull in one request) still hands the next pull everything that transaction writes afterwards.

PostgreSQL leaves a snapshot's own transaction out of its running list. With an older transaction
open elsewhere (holding `xmin` below ours) and a newer one committed (`xmax` above ours), the pull's
snapshot would name our own transaction as seen, and our later writes, a merge's tombstone among
them, would fall behind every later cursor (villages/sync_clock.take_snapshot).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tests.conftest import GEDUNG_WANI
from tests.factories import WorkerFactory
from villages.models import Role
from villages.sync_clock import take_snapshot
from workers.models import Worker

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="transaction snapshots: PostgreSQL")


def _own_txid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text")
        return int(cursor.fetchone()[0])


def _other_connection() -> Any:
    return connection.get_new_connection(connection.get_connection_params())


@pytest.fixture
def older_transaction(db: Any) -> Iterator[int]:
    """A transaction of another session, started (with a transaction id) before the test writes."""
    other = _other_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text")
            yield int(cursor.fetchone()[0])
    finally:
        other.rollback()
        other.close()


def _commit_a_newer_transaction() -> None:
    """Another session commits a transaction younger than ours: the snapshot's `xmax` passes ours."""
    other = _other_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")
        other.commit()
    finally:
        other.close()


def test_the_snapshot_counts_its_own_writing_transaction_as_running(older_transaction):
    WorkerFactory(id="before")
    own = _own_txid()
    _commit_a_newer_transaction()

    _cursor, _previous = take_snapshot()
    _next, snapshot = take_snapshot(_cursor)

    assert snapshot is not None
    assert older_transaction < own < snapshot.xmax  # the case PostgreSQL's own snapshot gets wrong
    assert snapshot.xmin <= older_transaction
    assert own in snapshot.running
    assert older_transaction in snapshot.running
    assert snapshot.saw(own) is False


def test_writes_after_a_pull_in_the_same_transaction_reach_the_next_pull(older_transaction, api, make_user):
    officer = make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,), username="petugas-tx")
    WorkerFactory(id="before", village_id=GEDUNG_WANI)
    own = _own_txid()
    assert older_transaction < own
    _commit_a_newer_transaction()
    device = api(officer)
    first = device.get("/api/v1/sync").json()
    assert [w["id"] for w in first["changes"]["workers"]["created"]] == ["before"]

    WorkerFactory(id="after", village_id=GEDUNG_WANI)
    Worker.objects.filter(id="before").update(full_name="Siti Aminah")
    second = device.get(f"/api/v1/sync?last_pulled_at={first['timestamp']}").json()

    workers = second["changes"]["workers"]
    # Our transaction is still running: both rows are sent again, none is skipped.
    assert sorted(w["id"] for w in workers["created"] + workers["updated"]) == ["after", "before"]
    assert {w["id"]: w["full_name"] for w in workers["created"] + workers["updated"]}["before"] == "Siti Aminah"
    assert workers["deleted"] == []
