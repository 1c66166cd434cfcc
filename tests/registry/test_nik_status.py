"""The registry's answers set the worker's NIK status (API.md "Data quality", REGISTRY.md reason
codes): through the real sync path against the stub over HTTP, `nik_not_found` and
`nik_mismatch` configured per NIK."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from enrolment.models import Enrolment, Status
from enrolment.registry import services
from tests.conftest import committed
from tests.registry.conftest import make_verified, stub_faults
from villages.audit import Actor
from villages.models import AuditEvent, Role
from workers.models import Worker
from workers.services import WorkerTable, worker_update

pytestmark = pytest.mark.django_db

NOT_FOUND = "NIK not found at Dukcapil."
MISMATCH = "Name or birth date differ from Dukcapil's record."


def send_all() -> str:
    batch = services.registry_batch_claim()
    assert batch is not None
    services.registry_batch_send(batch_id=str(batch.id))
    return str(batch.id)


def test_the_registrys_answers_set_the_nik_status(registry, control, api, make_user):
    accepted, not_found, mismatch = make_verified(3)
    stub_faults(control, reject_niks=[not_found.worker.nik], mismatch_niks=[mismatch.worker.nik])

    batch_id = send_all()

    rows = dict(
        Worker.objects.filter(id__in=[e.worker_id for e in (accepted, not_found, mismatch)]).values_list(
            "id", "nik_status"
        )
    )
    assert rows == {accepted.worker_id: "verified", not_found.worker_id: "not_found", mismatch.worker_id: "mismatch"}
    assert Worker.objects.values_list("nik_status_reason", "version").get(id=not_found.worker_id) == (NOT_FOUND, 2)
    assert Worker.objects.values_list("nik_status_reason", "version").get(id=mismatch.worker_id) == (MISMATCH, 2)
    assert Worker.objects.values_list("nik_status_reason", "version").get(id=accepted.worker_id) == ("", 2)
    assert dict(Enrolment.objects.filter(id__in=[not_found.id, mismatch.id]).values_list("id", "status_reason")) == {
        not_found.id: NOT_FOUND,
        mismatch.id: MISMATCH,
    }
    assert set(Enrolment.objects.filter(id__in=[not_found.id, mismatch.id]).values_list("status", flat=True)) == {
        Status.REJECTED
    }
    item = mismatch.registry_items.get()
    assert (item.outcome, item.reason_code, item.reason) == ("rejected", "nik_mismatch", MISMATCH)
    event = AuditEvent.objects.get(object_type="worker", object_id=mismatch.worker_id, action="update")
    assert (event.actor_username, event.changes, event.context) == (
        "system",
        {"nik_status": ["unverified", "mismatch"], "nik_status_reason": ["", MISMATCH], "version": [1, 2]},
        {"registry_batch": batch_id},
    )

    # Rejected for the NIK: the enrolment cannot be submitted again until the NIK is corrected.
    officer = make_user()
    refused = api(officer).post(f"/api/v1/enrolments/{mismatch.id}/submit", {}, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "nik_required")
    follow_up = api(officer).get("/api/v1/workers", {"nik_status": "not_found,mismatch"}).json()["results"]
    assert sorted(w["id"] for w in follow_up) == sorted([not_found.worker_id, mismatch.worker_id])
    fixed = api(officer).patch(
        f"/api/v1/workers/{mismatch.worker_id}", {"nik": mismatch.worker.nik[:-4] + "8888"}, format="json"
    )
    assert (fixed.status_code, fixed.json()["nik_status"], fixed.json()["nik_status_reason"]) == (200, "unverified", "")
    assert api(officer).post(f"/api/v1/enrolments/{mismatch.id}/submit", {}, format="json").status_code == 200


def test_a_rejection_for_another_reason_leaves_the_nik_status(registry, control):
    (enrolment,) = make_verified(1, nik="12345")  # the registry answers nik_invalid; not a Dukcapil check
    send_all()
    assert Enrolment.objects.get(id=enrolment.id).status == Status.REJECTED
    assert Worker.objects.values_list("nik_status", "nik_status_reason", "version").get(id=enrolment.worker_id) == (
        "unverified",
        "",
        1,
    )


@committed
def test_a_registry_answer_waits_for_a_save_of_the_worker_in_flight(registry, make_user, monkeypatch):
    """A save reads the worker under its lock and writes the NIK status and version it read
    from; the registry's answer must not land in between, or the save puts the old ones back."""
    (enrolment,) = make_verified(1)
    batch = services.registry_batch_claim()
    assert batch is not None
    operator = make_user(role=Role.VILLAGE_OPERATOR, username="operator-wani")
    has_read, may_write = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    prepare = WorkerTable.prepare

    def pausing_prepare(self, records, existing):
        prepare(self, records, existing)
        has_read.set()  # the save holds the worker's lock and has read version 1, unverified
        assert may_write.wait(20)

    monkeypatch.setattr(WorkerTable, "prepare", pausing_prepare)

    def in_thread(work):
        def run() -> None:
            try:
                work()
            except BaseException as problem:
                failures.append(problem)
            finally:
                connection.close()

        return threading.Thread(target=run)

    save = in_thread(
        lambda: worker_update(
            actor=Actor(user=operator), worker_id=enrolment.worker_id, patch={"birth_place": "Bintuhan"}, if_match=None
        )
    )
    send = in_thread(lambda: services.registry_batch_send(batch_id=str(batch.id)))
    save.start()
    assert has_read.wait(20)
    send.start()
    waiting = 0
    for _ in range(100):  # up to 10 s: the answer queues behind the save's advisory lock
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            (waiting,) = cursor.fetchone()
        if waiting or not send.is_alive():
            break
        time.sleep(0.1)
    may_write.set()
    save.join(30)
    send.join(30)

    assert failures == []
    assert waiting == 1
    worker = Worker.objects.get(id=enrolment.worker_id)
    assert (worker.birth_place, worker.nik_status, worker.version) == ("Bintuhan", "verified", 3)
    events = AuditEvent.objects.filter(object_type="worker", object_id=worker.id, action="update").order_by("id")
    assert [(e.actor_username, e.changes.get("birth_place"), e.changes.get("nik_status")) for e in events] == [
        ("operator-wani", ["", "***"], None),  # personal fields are only marked as set in the log
        ("system", None, ["unverified", "verified"]),
    ]
    assert Enrolment.objects.get(id=enrolment.id).status == Status.ACTIVE
