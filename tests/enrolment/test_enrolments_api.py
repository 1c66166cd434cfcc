import datetime as dt

import pytest
from django.utils import timezone

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, VILLAGE_B
from tests.factories import EnrolmentFactory, WorkerFactory, worker_payload
from villages.models import AuditEvent, Role
from workers.models import Worker


@pytest.fixture
def officer(make_user):
    return make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))


def enrolment_body(worker_id, **overrides):
    return {
        "id": overrides.pop("id", f"e-{worker_id}"),
        "worker": worker_id,
        "funding_source": "apbd_kabupaten",
        "budget_year": 2026,
        "coverage_start": "2026-12-01",
        "programs": ["JKK", "JKM"],
        **overrides,
    }


# --- registrations -------------------------------------------------------------------------------


def test_registration_creates_both_and_replays(api, officer):
    body = {
        "worker": worker_payload(),
        "enrolment": {
            "id": "reg-e1",
            "funding_source": "apbd_kabupaten",
            "coverage_start": "2026-12-01",
            "status": "submitted",
        },
    }
    client = api(officer)

    first = client.post("/api/v1/registrations", body, format="json")
    again = client.post("/api/v1/registrations", body, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["enrolment"]["worker"] == body["worker"]["id"]
    assert first.json()["enrolment"]["status"] == "submitted"
    assert first.json()["enrolment"]["monthly_contribution"] == 16_800
    assert again.json() == first.json()
    assert Worker.objects.count() == 1
    assert Enrolment.objects.count() == 1
    assert AuditEvent.objects.filter(action="create").count() == 2


def test_registration_is_both_or_neither(api, officer):
    body = {"worker": worker_payload(), "enrolment": {"funding_source": "nobody", "coverage_start": "2026-12-01"}}
    response = api(officer).post("/api/v1/registrations", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["enrolment.funding_source"]
    assert Worker.objects.count() == 0
    assert Enrolment.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_registration_worker_errors_are_prefixed(api, officer):
    body = {
        "worker": worker_payload(nik="12"),
        "enrolment": {"funding_source": "apbd_kabupaten", "coverage_start": "2026-12-01"},
    }
    response = api(officer).post("/api/v1/registrations", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "nik_invalid"
    assert list(response.json()["error"]["details"]["fields"]) == ["worker.nik"]


def test_registration_needs_both_objects(api, officer):
    response = api(officer).post("/api/v1/registrations", {"worker": "x"}, format="json")
    assert response.status_code == 400


# --- enrolments ------------------------------------------------------------------------------------


def test_one_live_enrolment_per_worker(api, officer):
    worker = WorkerFactory()
    client = api(officer)
    assert client.post("/api/v1/enrolments", enrolment_body(worker.id, id="first"), format="json").status_code == 201

    second = client.post("/api/v1/enrolments", enrolment_body(worker.id, id="second"), format="json")

    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_enrolled"
    assert second.json()["error"]["details"] == {"enrolment": "first"}
    assert list(Enrolment.objects.values_list("id", flat=True)) == ["first"]


def test_a_new_enrolment_after_the_old_one_ended(api, officer):
    ended = EnrolmentFactory(status="ended")
    response = api(officer).post("/api/v1/enrolments", enrolment_body(ended.worker_id, id="again"), format="json")
    assert response.status_code == 201


def test_the_database_holds_one_live_enrolment_per_worker(db):
    from django.db import IntegrityError, transaction

    first = EnrolmentFactory(status="active")
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrolmentFactory(worker=first.worker, status="draft")


def test_enrolment_fields_are_validated(api, officer):
    worker = WorkerFactory()
    response = api(officer).post(
        "/api/v1/enrolments",
        enrolment_body(worker.id, programs=["JKK", "XYZ"], payment_period_months=2, segment="ABC", status="active"),
        format="json",
    )
    assert response.status_code == 400
    assert sorted(response.json()["error"]["details"]["fields"]) == [
        "payment_period_months",
        "programs",
        "segment",
        "status",
    ]


def test_enrolling_a_worker_outside_scope_is_refused(api, officer):
    other = WorkerFactory(village_id=VILLAGE_B)
    response = api(officer).post("/api/v1/enrolments", enrolment_body(other.id), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["worker"]


def test_verified_enrolments_are_locked(api, officer):
    enrolment = EnrolmentFactory(status="verified")
    response = api(officer).patch(f"/api/v1/enrolments/{enrolment.id}", {"payment_period_months": 12}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "enrolment_locked"
    assert Enrolment.objects.get(id=enrolment.id).payment_period_months == 1


def test_patch_reprices_and_honours_if_match(api, officer):
    worker = WorkerFactory()
    client = api(officer)
    created = client.post("/api/v1/enrolments", enrolment_body(worker.id), format="json").json()

    stale = client.patch(
        f"/api/v1/enrolments/{created['id']}", {"programs": ["JKK", "JKM", "JHT"]}, format="json", HTTP_IF_MATCH="7"
    )
    patched = client.patch(
        f"/api/v1/enrolments/{created['id']}", {"programs": ["JKK", "JKM", "JHT"]}, format="json", HTTP_IF_MATCH="1"
    )

    assert stale.status_code == 412
    assert patched.status_code == 200
    assert (patched.json()["version"], patched.json()["monthly_contribution"]) == (2, 36_800)
    assert AuditEvent.objects.get(object_id=created["id"], action="update").changes["monthly_contribution"] == [
        16_800,
        36_800,
    ]


def test_deleting_a_worker_tombstones_their_draft_enrolment(api, officer):
    enrolment = EnrolmentFactory(status="draft")
    assert api(officer).delete(f"/api/v1/workers/{enrolment.worker_id}").status_code == 204
    enrolment.refresh_from_db()
    assert enrolment.deleted_at is not None


def test_a_worker_with_a_verified_enrolment_cannot_be_deleted(api, officer):
    enrolment = EnrolmentFactory(status="verified")
    response = api(officer).delete(f"/api/v1/workers/{enrolment.worker_id}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "worker_enrolled"
    assert Worker.objects.get(id=enrolment.worker_id).deleted_at is None


def test_the_nik_of_a_registered_person_cannot_change(api, officer):
    enrolment = EnrolmentFactory(status="active")
    response = api(officer).patch(f"/api/v1/workers/{enrolment.worker_id}", {"nik": "1704010101900999"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "nik_locked"


def test_moving_a_worker_moves_their_live_enrolment(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI, VILLAGE_B))
    enrolment = EnrolmentFactory(status="submitted")
    response = api(operator).patch(f"/api/v1/workers/{enrolment.worker_id}", {"village": VILLAGE_B}, format="json")
    assert response.status_code == 200
    assert Enrolment.objects.get(id=enrolment.id).village_id == VILLAGE_B


def test_bulk_enrolments(api, officer):
    workers = [WorkerFactory() for _ in range(3)]
    records = [enrolment_body(w.id) for w in workers] + [enrolment_body(workers[0].id, id="dup"), {"worker": "nope"}]
    body = api(officer).post("/api/v1/enrolments/bulk", {"records": records}, format="json").json()
    assert [r["result"] for r in body["results"]] == ["created", "created", "created", "invalid", "invalid"]
    assert body["results"][3]["error"]["code"] == "already_enrolled"
    assert body["summary"] == {"created": 3, "updated": 0, "unchanged": 0, "invalid": 2}
    assert Enrolment.objects.count() == 3


def test_enrolment_list_is_scoped_and_filtered(api, officer):
    mine = EnrolmentFactory(status="submitted")
    EnrolmentFactory(status="draft")
    EnrolmentFactory(status="submitted", worker=WorkerFactory(village_id=VILLAGE_B))
    listed = api(officer).get("/api/v1/enrolments?status=submitted").json()["results"]
    assert [e["id"] for e in listed] == [mine.id]


# --- reference bundle -----------------------------------------------------------------------------------


def test_reference_bundle(api, officer):
    client = api(officer)
    response = client.get("/api/v1/reference")
    body = response.json()
    assert response["ETag"] == f'"{body["version"]}"'
    assert len(body["occupations"]) == 24
    assert {o["code"] for o in body["occupations"]} >= {"nelayan", "petani", "kepala_desa", "ojek"}
    assert [f["code"] for f in body["funding_sources"] if f["self_paid"]] == ["mandiri"]
    assert {(r["program"], r["basis"]) for r in body["contribution_rules"] if r["segment"] == "BPU"} == {
        ("JKK", "band_base"), ("JKM", "flat"), ("JHT", "band_base"),
    }  # fmt: skip
    assert body["age_limits"] == {"min": 15, "max": 65}
    # Discounts still to come or in force; which ones depends on today's date.
    today = timezone.localdate()
    periods = {"PP 50/2025 transport": dt.date(2027, 3, 31), "PP 50/2025": dt.date(2026, 12, 31)}
    assert sorted(d["name"] for d in body["discounts"]) == sorted(n for n, end in periods.items() if end >= today)
    assert client.get("/api/v1/reference", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert client.get("/api/v1/reference", HTTP_ACCEPT_LANGUAGE="en").json()["version"] == body["version"]


def test_registration_cannot_enrol_a_deleted_worker_through_a_replay(api, officer):
    worker_body = worker_payload()
    enrolment = {"funding_source": "apbd_kabupaten", "coverage_start": "2026-12-01"}
    client = api(officer)
    assert (
        client.post(
            "/api/v1/registrations", {"worker": worker_body, "enrolment": {**enrolment, "id": "e1"}}, format="json"
        ).status_code
        == 201
    )
    assert client.delete(f"/api/v1/workers/{worker_body['id']}").status_code == 204

    again = client.post(
        "/api/v1/registrations", {"worker": worker_body, "enrolment": {**enrolment, "id": "e2"}}, format="json"
    )

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "record_deleted"
    assert not Enrolment.objects.filter(id="e2").exists()


def test_a_wage_earner_needs_a_monthly_income(api, officer):
    worker = WorkerFactory(monthly_income=None)
    response = api(officer).post("/api/v1/enrolments", enrolment_body(worker.id, segment="PU"), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["segment"]
    priced = api(officer).post(
        "/api/v1/enrolments", enrolment_body(WorkerFactory(monthly_income=2_000_000).id, segment="PU"), format="json"
    )
    assert priced.status_code == 201
    # 0.24 % + 0.30 % of Rp 2,000,000 (the seeded, reported PU rates).
    assert priced.json()["monthly_contribution"] == 4_800 + 6_000


@pytest.mark.parametrize(
    "override", [{"segment": ["BPU"]}, {"status": ["draft"]}, {"worker": "w\u0000"}, {"payment_period_months": [1]}]
)
def test_enrolment_hostile_values_are_400(api, officer, override):
    body = enrolment_body(WorkerFactory().id, **override)
    response = api(officer).post("/api/v1/enrolments", body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert Enrolment.objects.count() == 0
