"""Resubmitting a rejected enrolment: by the action or by PATCH, the same rules and the same trace."""

from typing import Any

import pytest

from config.formats import iso_datetime
from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI
from tests.factories import EnrolmentFactory, WorkerFactory
from villages.models import AuditEvent, Role


@pytest.fixture
def officer(make_user):
    return make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))


def resubmit(client, enrolment_id: str, how: str, **headers: Any):
    if how == "action":
        return client.post(f"/api/v1/enrolments/{enrolment_id}/submit", {}, format="json", **headers)
    return client.patch(f"/api/v1/enrolments/{enrolment_id}", {"status": "submitted"}, format="json", **headers)


def stored(enrolment_id: str) -> dict[str, Any]:
    return Enrolment.objects.filter(id=enrolment_id).values().get()


# --- a resubmission by PATCH is a status change ---------------------------------------------------------


@pytest.mark.parametrize("how", ["action", "patch"])
def test_resubmitting_clears_the_reason_and_is_audited_as_a_status_change(api, officer, make_user, how):
    client = api(officer)
    body = {"id": "e1", "worker": WorkerFactory().id, "funding_source": "apbd_kabupaten", "status": "submitted"}
    assert client.post("/api/v1/enrolments", {**body, "coverage_start": "2026-12-01"}, format="json").status_code == 201
    rejection = api(make_user(role=Role.VILLAGE_OPERATOR)).post(
        "/api/v1/enrolments/e1/reject", {"reason": "NIK tidak terbaca"}, format="json"
    )
    assert (rejection.json()["status_reason"], rejection.json()["version"]) == ("NIK tidak terbaca", 2)
    already_logged = set(AuditEvent.objects.values_list("id", flat=True))

    response = resubmit(client, "e1", how, HTTP_IF_MATCH="2")

    assert response.status_code == 200, response.json()
    enrolment = Enrolment.objects.get(id="e1")
    assert (enrolment.status, enrolment.status_reason, enrolment.version) == ("submitted", "", 3)
    assert (enrolment.status_changed_by_id, enrolment.updated_by_id) == (officer.pk, officer.pk)
    assert enrolment.status_changed_at == enrolment.updated_at
    body = response.json()
    assert (body["status"], body["status_reason"], body["version"]) == ("submitted", "", 3)
    assert body["status_changed_at"] == iso_datetime(enrolment.status_changed_at)
    events = AuditEvent.objects.exclude(id__in=already_logged)
    assert list(events.values_list("action", "object_id", "actor_id", "area_code", "changes", "context")) == [
        ("status", "e1", officer.pk, GEDUNG_WANI, {"status": ["rejected", "submitted"]}, {})
    ]


def test_a_patch_changing_fields_and_status_records_both(api, officer, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    client = api(officer)
    body = {
        "id": "e1",
        "worker": WorkerFactory().id,
        "funding_source": "apbd_kabupaten",
        "coverage_start": "2026-12-01",
    }
    assert client.post("/api/v1/enrolments", body, format="json").status_code == 201
    assert client.post("/api/v1/enrolments/e1/submit", {}, format="json").status_code == 200
    rejection = api(operator).post("/api/v1/enrolments/e1/reject", {"reason": "Bukti dana belum ada"}, format="json")
    assert rejection.json()["version"] == 3
    already_logged = set(AuditEvent.objects.values_list("id", flat=True))

    response = client.patch("/api/v1/enrolments/e1", {"payment_period_months": 3, "status": "submitted"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["status_reason"], response.json()["version"]) == (
        "submitted",
        "",
        4,
    )
    enrolment = Enrolment.objects.get(id="e1")
    assert (enrolment.payment_period_months, enrolment.status, enrolment.status_reason) == (3, "submitted", "")
    assert (enrolment.status_changed_by_id, enrolment.status_changed_at) == (officer.pk, enrolment.updated_at)
    events = AuditEvent.objects.exclude(id__in=already_logged).order_by("id")
    assert list(events.values_list("action", "object_id", "actor_id", "changes", "context")) == [
        ("update", "e1", officer.pk, {"payment_period_months": [1, 3]}, {"version": 4}),
        ("status", "e1", officer.pk, {"status": ["rejected", "submitted"]}, {}),
    ]


def test_a_patch_that_changes_only_fields_keeps_the_status_and_its_reason(api, officer):
    rejected = EnrolmentFactory(status="rejected", status_reason="NIK tidak terbaca")
    changed_at = rejected.status_changed_at

    response = api(officer).patch(f"/api/v1/enrolments/{rejected.id}", {"payment_period_months": 6}, format="json")

    assert response.status_code == 200, response.json()
    enrolment = Enrolment.objects.get(id=rejected.id)
    assert (enrolment.status, enrolment.status_reason, enrolment.status_changed_at) == (
        "rejected",
        "NIK tidak terbaca",
        changed_at,
    )
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["update"]
