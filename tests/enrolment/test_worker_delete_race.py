"""Deleting a worker and verifying their enrolment at the same moment: one waits for the other.

Without a shared lock both committed: the delete's check for an enrolment past `submitted` ran
before the verification committed, so the delete went on, leaving a deleted person with a
verified enrolment (tombstoned over the verification, or not tombstoned at all when the delete
read the enrolments after the commit). Both take the worker's lock now, so the second sees what
the first did. The threaded tests show who waits on what (pg_locks); the last ones show the
refusal that protects rows the old race left behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from config.errors import NotFound
from enrolment.models import Enrolment
from enrolment.services import enrolment_transition
from tests.conftest import committed
from tests.factories import EnrolmentFactory, WorkerFactory
from villages.audit import Actor
from villages.models import AuditEvent, Role
from workers.models import Worker
from workers.services import worker_delete


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def lock_awaited_by(pid: int, timeout: float = 10.0) -> str:
    """The kind of lock the backend `pid` is waiting for (pg_locks' locktype: `advisory` for
    config.locks, `transactionid` for a row another transaction has changed), once it waits."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT locktype FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
            row = cursor.fetchone()
            if row is not None:
                return row[0]
            time.sleep(0.01)
    return "never waited"


def hold_while_the_other_waits(first: Callable[[], Any], other_pid: int) -> tuple[threading.Thread, dict[str, Any]]:
    """Runs `first` in a transaction on another thread (its own connection) and keeps that
    transaction open until the backend `other_pid` waits for a lock; then commits."""
    started = threading.Event()
    seen: dict[str, Any] = {}

    def run() -> None:
        try:
            with transaction.atomic():
                first()
                started.set()
                seen["awaited"] = lock_awaited_by(other_pid)
        except BaseException as problem:  # reported by the test
            seen["failure"] = problem
        finally:
            started.set()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(10)
    return thread, seen


@committed
def test_a_worker_being_verified_cannot_be_deleted_until_the_verification_ends(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    enrolment = EnrolmentFactory(status="submitted")

    thread, seen = hold_while_the_other_waits(
        lambda: enrolment_transition(
            actor=Actor(user=operator), enrolment_id=enrolment.id, action="verify", reason="", if_match=None
        ),
        backend_pid(),
    )
    response = api(operator).delete(f"/api/v1/workers/{enrolment.worker_id}")
    thread.join(10)

    assert "failure" not in seen, seen
    assert seen["awaited"] == "advisory"  # the worker's lock, taken by the verification
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "worker_enrolled"
    assert Worker.objects.filter(id=enrolment.worker_id).values_list("deleted_at", "version").get() == (None, 1)
    assert Enrolment.objects.filter(id=enrolment.id).values_list("status", "deleted_at", "version").get() == (
        "verified",
        None,
        2,
    )
    assert list(AuditEvent.objects.values_list("action", "object_type", "object_id")) == [
        ("status", "enrolment", enrolment.id)
    ]


@committed
def test_a_verification_waits_for_a_delete_and_then_finds_nothing_to_verify(make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    enrolment = EnrolmentFactory(status="submitted")

    thread, seen = hold_while_the_other_waits(
        lambda: worker_delete(actor=Actor(user=operator), worker_id=enrolment.worker_id, if_match=None),
        backend_pid(),
    )
    with pytest.raises(NotFound):
        enrolment_transition(
            actor=Actor(user=operator), enrolment_id=enrolment.id, action="verify", reason="", if_match=None
        )
    thread.join(10)

    assert "failure" not in seen, seen
    assert seen["awaited"] == "advisory"
    assert Worker.objects.get(id=enrolment.worker_id).deleted_at is not None
    assert Enrolment.objects.filter(id=enrolment.id).values_list("status", "version").get() == ("submitted", 2)
    assert Enrolment.objects.get(id=enrolment.id).deleted_at is not None
    assert sorted(AuditEvent.objects.values_list("action", "object_type")) == [
        ("delete", "enrolment"),
        ("delete", "worker"),
    ]


# --- a deleted person's enrolment never moves towards the registry ---------------------------------------


@pytest.mark.parametrize(("source", "action", "role"), [("submitted", "verify", Role.VILLAGE_OPERATOR),
                                                       ("draft", "submit", Role.FIELD_OFFICER),
                                                       ("rejected", "submit", Role.FIELD_OFFICER)])  # fmt: skip
def test_the_enrolment_of_a_deleted_worker_cannot_go_forward(api, make_user, source, action, role):
    # What the old race could leave behind: a deleted person whose enrolment was not tombstoned.
    worker = WorkerFactory(deleted_at=timezone.now())
    enrolment = EnrolmentFactory(worker=worker, status=source)
    before = Enrolment.objects.filter(id=enrolment.id).values().get()

    response = api(make_user(role=role)).post(f"/api/v1/enrolments/{enrolment.id}/{action}", {}, format="json")

    assert response.status_code == 409, response.json()
    assert response.json() == {
        "error": {
            "code": "worker_deleted",
            "message": "Data orang ini sudah dihapus; kepesertaannya tidak dapat diajukan atau diverifikasi.",
            "details": {"worker": worker.id},
        }
    }
    assert Enrolment.objects.filter(id=enrolment.id).values().get() == before
    assert AuditEvent.objects.count() == 0


def test_worker_deleted_in_english(api, make_user):
    enrolment = EnrolmentFactory(worker=WorkerFactory(deleted_at=timezone.now()), status="submitted")

    response = api(make_user(role=Role.VILLAGE_OPERATOR), language="en").post(
        f"/api/v1/enrolments/{enrolment.id}/verify", {}, format="json"
    )

    assert response.json()["error"]["message"] == (
        "This person's record was deleted; their enrolment can no longer be submitted or verified."
    )


def test_the_enrolment_of_a_deleted_worker_can_still_be_rejected(api, make_user):
    # The way out for such a row: an operator takes it off the road to the registry.
    enrolment = EnrolmentFactory(worker=WorkerFactory(deleted_at=timezone.now()), status="verified")

    response = api(make_user(role=Role.VILLAGE_OPERATOR)).post(
        f"/api/v1/enrolments/{enrolment.id}/reject", {"reason": "orangnya sudah dihapus"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert Enrolment.objects.filter(id=enrolment.id).values_list("status", "status_reason", "version").get() == (
        "rejected",
        "orangnya sudah dihapus",
        2,
    )
    assert list(AuditEvent.objects.values_list("action", "changes")) == [
        ("status", {"status": ["verified", "rejected"]})
    ]
