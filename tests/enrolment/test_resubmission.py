"""Resubmitting a rejected enrolment: by the action or by PATCH, the same rules and the same trace."""

from typing import Any

import pytest

from config.formats import iso_datetime
from enrolment.models import Enrolment
from enrolment.services import TransitionRequest, enrolments_transition
from tests.conftest import GEDUNG_WANI, VILLAGE_B
from tests.factories import EnrolmentFactory, WorkerFactory
from villages.audit import Actor
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


# --- another live enrolment of the same person ---------------------------------------------------------


@pytest.mark.parametrize("how", ["action", "patch"])
@pytest.mark.parametrize("live_status", ["draft", "submitted", "verified", "active"])
def test_resubmitting_while_another_enrolment_is_live_is_already_enrolled(api, officer, how, live_status):
    rejected = EnrolmentFactory(status="rejected", status_reason="NIK tidak terbaca")
    live = EnrolmentFactory(worker=rejected.worker, status=live_status)
    before = stored(rejected.id)

    response = resubmit(api(officer), rejected.id, how)

    assert response.status_code == 409, response.json()
    assert response.json() == {
        "error": {
            "code": "already_enrolled",
            "message": "Orang ini sudah memiliki kepesertaan yang masih berjalan.",
            "details": {"enrolment": live.id},
        }
    }
    assert stored(rejected.id) == before
    assert Enrolment.objects.get(id=live.id).status == live_status
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("how", ["action", "patch"])
def test_already_enrolled_in_english(api, officer, how):
    rejected = EnrolmentFactory(status="rejected")
    live = EnrolmentFactory(worker=rejected.worker, status="draft")

    response = resubmit(api(officer, language="en"), rejected.id, how)

    assert response.json()["error"] == {
        "code": "already_enrolled",
        "message": "This person already has a live enrolment.",
        "details": {"enrolment": live.id},
    }


def test_already_enrolled_names_no_enrolment_outside_the_callers_areas(api, officer):
    # The person moved to the next village and was enrolled there; the rejected enrolment stayed.
    worker = WorkerFactory(village_id=VILLAGE_B)
    rejected = EnrolmentFactory(worker=worker, village_id=GEDUNG_WANI, status="rejected")
    EnrolmentFactory(worker=worker, status="submitted")
    before = stored(rejected.id)

    response = resubmit(api(officer), rejected.id, "action")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_enrolled"
    assert response.json()["error"]["details"] == {}
    assert stored(rejected.id) == before
    assert AuditEvent.objects.count() == 0


def test_a_bulk_push_resubmitting_beside_a_live_enrolment_is_already_enrolled(api, officer):
    rejected = EnrolmentFactory(status="rejected")
    live = EnrolmentFactory(worker=rejected.worker, status="draft")
    record = {
        "id": rejected.id,
        "worker": rejected.worker_id,
        "funding_source": "apbd_kabupaten",
        "budget_year": 2026,
        "coverage_start": "2026-12-01",
        "programs": ["JKK", "JKM"],
        "status": "submitted",
    }
    before = stored(rejected.id)

    body = api(officer).post("/api/v1/enrolments/bulk", {"records": [record]}, format="json").json()

    assert body["results"] == [
        {
            "id": rejected.id,
            "result": "invalid",
            "error": {
                "code": "already_enrolled",
                "message": "Orang ini sudah memiliki kepesertaan yang masih berjalan.",
                "details": {"enrolment": live.id},
            },
        }
    ]
    assert stored(rejected.id) == before
    assert AuditEvent.objects.count() == 0


def test_two_rejected_enrolments_of_one_person_resubmitted_together(officer):
    # A bulk action (admin, panel) resubmitting both: the first becomes live, the second may not.
    first = EnrolmentFactory(status="rejected")
    second = EnrolmentFactory(worker=first.worker, status="rejected")
    ended = EnrolmentFactory(worker=first.worker, status="ended")

    outcomes = enrolments_transition(
        actor=Actor(user=officer),
        requests=[TransitionRequest(first.id), TransitionRequest(second.id)],
        action="submit",
    )

    assert [(o.id, o.result, o.error and o.error.code) for o in outcomes] == [
        (first.id, "updated", None),
        (second.id, "invalid", "already_enrolled"),
    ]
    assert outcomes[1].error.details == {"enrolment": first.id}
    assert sorted(Enrolment.objects.values_list("id", "status", "version")) == sorted(
        [(first.id, "submitted", 2), (second.id, "rejected", 1), (ended.id, "ended", 1)]
    )
    assert list(AuditEvent.objects.values_list("object_id", "action")) == [(first.id, "status")]


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
