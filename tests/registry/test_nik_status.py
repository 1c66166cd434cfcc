"""The registry's answers set the worker's NIK status (API.md "Data quality", REGISTRY.md reason
codes): through the real sync path against the stub over HTTP, `nik_not_found` and
`nik_mismatch` configured per NIK."""

from __future__ import annotations

import pytest

from enrolment.models import Enrolment, Status
from enrolment.registry import services
from tests.registry.conftest import make_verified, stub_faults
from villages.models import AuditEvent
from workers.models import Worker

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
