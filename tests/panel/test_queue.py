"""The verification queue and bulk verify/reject."""

import pytest

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, KAUR, VILLAGE_B
from tests.factories import EnrolmentFactory, WorkerFactory
from villages.models import AuditEvent, Role


def submitted(**worker_fields):
    # A fixed name unless given: the factory's random Indonesian names sometimes contain a
    # searched word ("Tania" matches q=tani).
    worker_fields.setdefault("full_name", "Budi Santoso")
    return EnrolmentFactory(status="submitted", worker=WorkerFactory(**worker_fields))


def test_queue_lists_submitted_enrolments_with_what_an_operator_needs(api, operator):
    waiting = submitted(full_name="Siti Aminah", nik="1704014101900001", warnings=["possible_duplicate"])
    EnrolmentFactory(status="draft")
    EnrolmentFactory(status="verified")
    submitted(village_id=VILLAGE_B)  # another village

    response = api(operator).get("/api/v1/verification/queue")

    assert response.status_code == 200
    assert response.json()["next"] is None
    (item,) = response.json()["results"]
    assert item["id"] == waiting.id
    assert item["worker"]["full_name"] == "Siti Aminah"
    assert item["worker"]["nik"] == "1704********0001"
    assert item["warnings"] == ["possible_duplicate"]
    assert (item["monthly_contribution"], item["annual_contribution"], item["funding_source"]) == (
        16_800,
        201_600,
        "apbd_kabupaten",
    )
    assert item["worker"]["consent_given"] is True
    event = AuditEvent.objects.get(action="list", object_type="enrolment")
    assert event.context["count"] == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"warning": "possible_duplicate"}, {"dup"}),
        ({"warning": "nik_mismatch"}, {"birth", "sex"}),
        ({"warning": ["nik_sex_mismatch", "possible_duplicate"]}, {"dup", "sex"}),
        ({"warning": "needs_correction"}, {"flagged"}),
        ({"occupation": "petani"}, {"farmer"}),
        ({"q": "tani"}, {"farmer"}),
        (
            {"status": ["submitted", "draft"], "village": GEDUNG_WANI},
            {"dup", "birth", "sex", "flagged", "farmer", "plain", "draft"},
        ),
    ],
)
def test_queue_filters(api, operator, query, expected):
    made = {
        "dup": submitted(warnings=["possible_duplicate"]),
        "birth": submitted(warnings=["nik_birth_date_mismatch"]),
        "sex": submitted(warnings=["nik_sex_mismatch"]),
        "flagged": EnrolmentFactory(status="submitted", needs_correction=True, worker__full_name="Rahmat"),
        "farmer": submitted(occupation_id="petani", full_name="Pak Tani"),
        "plain": submitted(),
        "draft": EnrolmentFactory(status="draft", worker__full_name="Yanti"),
    }
    names = {enrolment.id: name for name, enrolment in made.items()}

    response = api(operator).get("/api/v1/verification/queue", query)

    assert response.status_code == 200
    assert {names[item["id"]] for item in response.json()["results"]} == expected


def test_queue_refuses_unknown_warning_and_foreign_area(api, operator):
    assert api(operator).get("/api/v1/verification/queue", {"warning": "bogus"}).status_code == 400
    assert api(operator).get("/api/v1/verification/queue", {"area": "17.01"}).status_code == 404


def test_bulk_verify_one_result_each_idempotent_and_audited(api, operator):
    first, second = submitted(), submitted()
    draft = EnrolmentFactory(status="draft")
    elsewhere = EnrolmentFactory(status="submitted", worker=WorkerFactory(village_id=VILLAGE_B))
    body = {"ids": [first.id, second.id, draft.id, elsewhere.id, "no-such-id"]}
    client = api(operator)

    response = client.post("/api/v1/verification/verify", body, format="json")
    again = client.post("/api/v1/verification/verify", body, format="json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["id"], r["result"]) for r in results] == [
        (first.id, "updated"),
        (second.id, "updated"),
        (draft.id, "invalid"),
        (elsewhere.id, "invalid"),
        ("no-such-id", "invalid"),
    ]
    assert [r.get("error", {}).get("code") for r in results[2:]] == ["invalid_transition", "not_found", "not_found"]
    assert response.json()["summary"] == {"updated": 2, "unchanged": 0, "invalid": 3}
    assert [r["result"] for r in again.json()["results"][:2]] == ["unchanged", "unchanged"]
    assert dict(Enrolment.objects.values_list("id", "status")) == {
        first.id: "verified",
        second.id: "verified",
        draft.id: "draft",
        elsewhere.id: "submitted",
    }
    events = AuditEvent.objects.filter(action="status").order_by("object_id")
    assert [(e.object_id, e.changes, e.actor_username) for e in events] == sorted(
        [(first.id, {"status": ["submitted", "verified"]}, "operator-wani"),
         (second.id, {"status": ["submitted", "verified"]}, "operator-wani")]
    )  # fmt: skip


def test_bulk_reject_needs_a_reason_and_honours_versions(api, operator):
    one, two = submitted(), submitted()
    client = api(operator, language="en")

    refused = client.post("/api/v1/verification/reject", {"ids": [one.id]}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["fields"] == {"reason": ["This field is required."]}
    assert Enrolment.objects.get(id=one.id).status == "submitted"

    response = client.post(
        "/api/v1/verification/reject",
        {"records": [{"id": one.id, "version": 1}, {"id": two.id, "version": 7}], "reason": "Foto KTP buram"},
        format="json",
    )

    assert [(r["result"], r.get("error", {}).get("code")) for r in response.json()["results"]] == [
        ("updated", None),
        ("invalid", "precondition_failed"),
    ]
    assert Enrolment.objects.get(id=one.id).status_reason == "Foto KTP buram"
    assert Enrolment.objects.get(id=two.id).status == "submitted"
    assert AuditEvent.objects.get(action="status").context == {"reason": "Foto KTP buram"}


def test_bulk_decisions_are_for_operators(api, make_user):
    enrolment = submitted()
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))
    for user in (supervisor, officer):
        response = api(user).post("/api/v1/verification/verify", {"ids": [enrolment.id]}, format="json")
        assert response.status_code == 403
    assert Enrolment.objects.get(id=enrolment.id).status == "submitted"
    assert not AuditEvent.objects.filter(action="status").exists()
    assert api(supervisor).get("/api/v1/verification/queue").status_code == 200


def test_bulk_decision_body_limits(api, operator, settings):
    settings.BULK_MAX_RECORDS = 2
    client = api(operator)
    assert client.post("/api/v1/verification/verify", {"ids": []}, format="json").status_code == 400
    assert client.post("/api/v1/verification/verify", {"ids": ["a", "b", "c"]}, format="json").status_code == 413
