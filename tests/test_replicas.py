"""The replica router: which reads may go to the replica, and when they must not."""

from __future__ import annotations

from unittest import mock

import pytest

from config import replicas
from config.replicas import REPLICA, ReplicaRouter
from tests.conftest import GEDUNG_WANI
from tests.factories import worker_payload
from villages.models import Role, User


@pytest.fixture
def decisions(settings, monkeypatch):
    """Every read routing decision, while the reads themselves stay on the test database (the
    lag query against a real replica is in tests/test_deployment.py)."""
    settings.DATABASE_ROUTERS = ["config.replicas.ReplicaRouter"]
    made: list[str] = []
    decide = ReplicaRouter.db_for_read

    def record(self, model, **hints):
        made.append(decide(self, model, **hints) or "default")
        return None

    monkeypatch.setattr(ReplicaRouter, "db_for_read", record)
    monkeypatch.setattr(replicas, "configured", lambda: True)
    monkeypatch.setattr(replicas, "replica_usable", lambda: True)
    return made


def test_list_and_report_reads_go_to_the_replica_other_reads_stay(api, make_user, decisions):
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))
    client = api(officer)
    assert client.get("/api/v1/workers").status_code == 200
    assert REPLICA in decisions
    decisions.clear()
    assert client.get("/api/v1/me").status_code == 200
    assert set(decisions) == {"default"}


def test_after_a_write_the_same_client_reads_from_the_primary(api, make_user, decisions):
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))
    client = api(officer)
    body = worker_payload()
    assert client.post("/api/v1/workers", body, format="json").status_code == 201
    decisions.clear()
    listed = client.get("/api/v1/workers").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert set(decisions) == {"default"}
    # Another official's client is not pinned.
    other = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,), username="lain")
    decisions.clear()
    assert api(other).get("/api/v1/workers").status_code == 200
    assert REPLICA in decisions


def test_a_write_in_the_request_pins_its_later_reads_and_an_unusable_replica_is_skipped(db, monkeypatch):
    router = ReplicaRouter()
    token = replicas._may_use_replica.set(True)
    wrote = replicas._wrote.set(False)
    try:
        monkeypatch.setattr(replicas, "replica_usable", lambda: True)
        assert router.db_for_read(User) == REPLICA
        assert router.db_for_write(User) == "default"
        assert router.db_for_read(User) is None
        replicas._wrote.set(False)
        monkeypatch.setattr(replicas, "replica_usable", lambda: False)
        assert router.db_for_read(User) is None
    finally:
        replicas._wrote.reset(wrote)
        replicas._may_use_replica.reset(token)
    assert router.allow_migrate(REPLICA, "villages") is False
    assert router.allow_migrate("default", "villages") is True


def test_the_replica_health_is_cached_and_a_lag_past_the_setting_means_primary(settings):
    settings.REPLICA_CHECK_SECONDS = 60
    settings.REPLICA_MAX_LAG_SECONDS = 30
    replicas.forget_health()
    with mock.patch.object(replicas, "replica_lag", return_value=45.0) as lag:
        assert replicas.replica_usable() is False
        assert replicas.replica_usable() is False
    assert lag.call_count == 1
    replicas.forget_health()
    with mock.patch.object(replicas, "replica_lag", return_value=None):
        assert replicas.replica_usable() is False  # down
    replicas.forget_health()
    with mock.patch.object(replicas, "replica_lag", return_value=2.0):
        assert replicas.replica_usable() is True
    replicas.forget_health()
