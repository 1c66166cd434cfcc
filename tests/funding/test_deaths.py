"""A death reported through the API: the enrolment ends, the registry hears of it exactly once
whatever its faults, and the family gets a claim, or a clear answer when there is none."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from enrolment.funding.models import Claim, DeathReport, MessageStatus, RegistryMessage
from enrolment.funding.outbox import registry_messages_send
from enrolment.models import Enrolment, Status
from tests.factories import EnrolmentFactory, WorkerFactory
from tests.funding.conftest import register_at_stub
from tests.registry.conftest import stub_faults
from villages.models import AuditEvent

DOCUMENTS = ["kpj_card", "ktp_deceased", "ktp_heir", "death_certificate", "family_card", "heir_statement",
             "marriage_book", "bank_book"]  # fmt: skip
HEIRS = [{"name": "Rahmat", "relationship": "child", "nik": "1704010505100001", "phone": ""}]


@pytest.fixture
def fast_retries(settings):
    settings.REGISTRY_RETRY_BASE_SECONDS = 0.01
    settings.REGISTRY_RETRY_MAX_SECONDS = 0.02


def participant(number, *, paid_through=None, **worker):
    person = WorkerFactory(id="w-siti", heirs=HEIRS, **worker)
    return EnrolmentFactory(
        id="e-siti", worker=person, status=Status.ACTIVE, registry_number=number, coverage_start=dt.date(2026, 1, 1),
        registry_status="active", paid_through=paid_through,
    )  # fmt: skip


def send_until_sent(max_rounds=60):
    for _ in range(max_rounds):
        registry_messages_send()
        if not RegistryMessage.objects.filter(status=MessageStatus.PENDING).exists():
            return
        time.sleep(0.03)
    raise AssertionError("the message was never sent")


def test_a_covered_death_ends_the_enrolment_opens_a_jkm_claim_and_tells_the_registry_once(
    api, officer, registry, control, fast_retries
):
    number = register_at_stub(registry, 1)
    participant(number, paid_through=dt.date(2026, 10, 1))
    body = {"date_of_death": "2026-11-20", "cause": "other", "place": "Rumah, Gedung Wani", "reported_by_name": "Kades"}
    stub_faults(control, error_5xx=0.5, drop_after_process=0.4, seed=7)

    first = api(officer).post("/api/v1/workers/w-siti/death", body, format="json")
    again = api(officer).post("/api/v1/workers/w-siti/death", body, format="json")
    send_until_sent()
    registry_messages_send()  # nothing left: nothing sent again

    assert (first.status_code, again.status_code) == (201, 200), first.json()
    claim = first.json()
    assert again.json() == claim
    assert (claim["program"], claim["covered"], claim["reason"], claim["status"]) == (
        "JKM",
        True,
        None,
        "documents_pending",
    )
    assert claim["amount_idr"] == 42_000_000
    assert [item["document"] for item in claim["checklist"]] == DOCUMENTS
    assert not any(item["received"] for item in claim["checklist"])
    assert claim["heirs"] == [{**HEIRS[0], "nik": "1704********0001"}]
    assert claim["enrolment"] == "e-siti"
    enrolment = Enrolment.objects.get(id="e-siti")
    assert (enrolment.status, enrolment.status_reason, enrolment.version) == ("ended", "deceased", 2)
    assert DeathReport.objects.count() == 1
    assert Claim.objects.count() == 1
    message = RegistryMessage.objects.get()
    assert (message.status, message.path) == ("sent", f"/v1/participants/{number}/events")
    assert message.body == '{"cause":"other","date":"2026-11-20","type":"death"}'
    stats = control.get("/stats").json()
    assert stats["events"]["processed"] == 1
    assert stats["events_per_participant"] == {number: 1}
    changes = control.get("/participants", params={"participant_number": number}).json()["participants"]
    assert changes[0]["status"] == "deceased"
    assert AuditEvent.objects.filter(object_type="enrolment", object_id="e-siti", action="status").count() == 1
    assert AuditEvent.objects.filter(object_type="claim", action="create").count() == 1


def test_a_death_after_three_unpaid_months_is_not_covered_and_says_why(api, officer, registry, control):
    number = register_at_stub(registry, 2)
    participant(number, paid_through=dt.date(2026, 6, 1))

    response = api(officer).post(
        "/api/v1/workers/w-siti/death",
        {"date_of_death": "2026-11-20", "cause": "other", "place": "Kaur"},
        format="json",
    )

    assert response.status_code == 201
    claim = response.json()
    assert (claim["covered"], claim["reason"], claim["status"], claim["checklist"]) == (False, "unpaid", "refused", [])
    assert claim["amount_idr"] == 0
    assert Enrolment.objects.get(id="e-siti").status == "ended"
    assert RegistryMessage.objects.get().status == "pending"  # the registry is told all the same
    assert Claim.objects.get().covered is False


def test_a_work_accident_is_a_jkk_claim_and_another_date_later_is_refused(api, officer, registry):
    participant(register_at_stub(registry, 3))

    first = api(officer).post(
        "/api/v1/workers/w-siti/death", {"date_of_death": "2026-11-01", "cause": "work_accident", "place": "Laut"},
        format="json",
    )  # fmt: skip
    other = api(officer).post(
        "/api/v1/workers/w-siti/death",
        {"date_of_death": "2026-11-02", "cause": "other", "place": "Laut"},
        format="json",
    )

    assert (first.json()["program"], first.json()["covered"], first.json()["amount_idr"]) == ("JKK", True, 0)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "death_already_reported"
    assert DeathReport.objects.get().date_of_death == dt.date(2026, 11, 1)


def test_someone_never_registered_gets_a_clear_answer_and_no_registry_event(api, officer):
    WorkerFactory(id="w-new")

    response = api(officer).post(
        "/api/v1/workers/w-new/death", {"date_of_death": "2026-11-01", "cause": "other", "place": "Kaur"}, format="json"
    )

    assert (response.json()["covered"], response.json()["reason"]) == (False, "not_registered")
    assert not RegistryMessage.objects.exists()


def test_a_death_outside_ones_villages_is_404_and_changes_nothing(api, make_user):
    WorkerFactory(id="w-far", village_id="17.01.01.2001")
    officer = make_user(areas=("17.04.01.2001",))

    response = api(officer).post(
        "/api/v1/workers/w-far/death", {"date_of_death": "2026-11-01", "cause": "other", "place": "x"}, format="json"
    )

    assert response.status_code == 404
    assert not DeathReport.objects.exists()


def test_the_claim_checklist_and_its_status_to_paid(api, officer, operator, registry):
    participant(register_at_stub(registry, 4))
    claim = (
        api(officer)
        .post(
            "/api/v1/workers/w-siti/death",
            {"date_of_death": "2026-11-20", "cause": "other", "place": "Kaur"},
            format="json",
        )
        .json()
    )
    url = f"/api/v1/claims/{claim['id']}"
    client = api(operator)

    too_early = client.patch(url, {"status": "ready"}, format="json")
    skipping = client.patch(url, {"status": "filed"}, format="json")
    some = client.patch(url, {"checklist": [{"document": "kpj_card", "received": True}]}, format="json")
    unknown = client.patch(url, {"checklist": [{"document": "passport", "received": True}]}, format="json")
    everything = client.patch(
        url, {"checklist": [{"document": d, "received": True} for d in DOCUMENTS], "status": "ready"}, format="json"
    )
    stale = client.patch(url, {"status": "filed"}, format="json", headers={"If-Match": "1"})
    filed = client.patch(
        url, {"status": "filed"}, format="json", headers={"If-Match": str(everything.json()["version"])}
    )
    paid = client.patch(url, {"status": "paid"}, format="json")
    after = client.patch(url, {"status": "refused"}, format="json")

    assert (too_early.status_code, skipping.status_code) == (409, 409)
    assert too_early.json()["error"]["code"] == "claim_transition_invalid"
    assert some.status_code == 200
    assert [i["received"] for i in some.json()["checklist"]] == [True] + [False] * 7
    assert unknown.status_code == 400
    assert (everything.status_code, everything.json()["status"]) == (200, "ready")
    assert stale.status_code == 412
    assert (filed.json()["status"], paid.json()["status"]) == ("filed", "paid")
    assert after.status_code == 409
    stored = Claim.objects.get()
    assert (stored.status, stored.version) == ("paid", 5)
    assert all(item["received"] for item in stored.checklist)
    listed = api(operator).get("/api/v1/claims?status=paid").json()["results"]
    assert [c["id"] for c in listed] == [claim["id"]]
    assert api(operator).get("/api/v1/claims?waiting_days=0").json()["results"] == []
