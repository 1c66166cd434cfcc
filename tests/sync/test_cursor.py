"""The pull cursor never skips a change, whatever order concurrent writers commit in."""

from __future__ import annotations

import datetime as dt
import threading

from django.db import connection, transaction
from django.utils import timezone

from enrolment.sync.tasks import sync_prune_snapshots
from tests.conftest import GEDUNG_WANI, committed
from tests.factories import WorkerFactory
from villages.models import Role, SyncSnapshot
from villages.sync_clock import Snapshot

pytestmark = committed


def test_snapshot_visibility_rules():
    snapshot = Snapshot.parse("100:105:101,103")
    assert [t for t in range(98, 108) if snapshot.saw(t)] == [98, 99, 100, 102, 104]


def test_no_change_is_skipped_when_writers_commit_out_of_order(api, make_user):
    officer = make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,))
    client = api(officer)
    first = client.get("/api/v1/sync").json()["timestamp"]

    started, release, done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        # Starts first (the lower transaction id), commits last.
        try:
            with transaction.atomic():
                WorkerFactory(id="slow", full_name="Lambat")
                started.set()
                release.wait(timeout=30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert started.wait(timeout=30)
    WorkerFactory(id="fast", full_name="Cepat")  # a later transaction id, committed at once

    middle = client.get(f"/api/v1/sync?last_pulled_at={first}").json()
    assert [r["id"] for r in middle["changes"]["workers"]["created"]] == ["fast"]

    release.set()
    assert done.wait(timeout=30)
    assert errors == []
    last = client.get(f"/api/v1/sync?last_pulled_at={middle['timestamp']}").json()
    # The slow writer's row is stamped below the fast one's, yet it is not skipped, and the
    # fast one, already sent, is not sent again.
    assert [r["id"] for r in last["changes"]["workers"]["created"]] == ["slow"]
    assert last["changes"]["workers"]["updated"] == []
    again = client.get(f"/api/v1/sync?last_pulled_at={last['timestamp']}").json()
    assert again["changes"]["workers"] == {"created": [], "updated": [], "deleted": []}


def test_pruned_snapshots_give_a_full_pull(api, make_user, settings):
    officer = make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,))
    WorkerFactory(id="kept")
    client = api(officer)
    old = client.get("/api/v1/sync").json()["timestamp"]
    recent = client.get("/api/v1/sync").json()["timestamp"]
    SyncSnapshot.objects.filter(pk=old).update(created_at=timezone.now() - dt.timedelta(days=181))

    assert sync_prune_snapshots() == 1  # the nightly task, SYNC_SNAPSHOT_RETENTION_DAYS = 180
    assert set(SyncSnapshot.objects.values_list("pk", flat=True)) == {recent}
    # A device holding the forgotten cursor gets everything again, as on its first pull.
    body = client.get(f"/api/v1/sync?last_pulled_at={old}").json()
    assert [r["id"] for r in body["changes"]["workers"]["created"]] == ["kept"]
    assert client.get(f"/api/v1/sync?last_pulled_at={recent}").json()["changes"]["workers"]["created"] == []
