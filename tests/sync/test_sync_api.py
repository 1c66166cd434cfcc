"""The WatermelonDB sync endpoint: pull, push, conflicts, scope changes, device health."""

from __future__ import annotations

import json

import pytest

from enrolment.models import Enrolment, Status
from enrolment.sync.models import SyncQuarantine
from tests.conftest import GEDUNG_WANI, VILLAGE_B, committed
from tests.factories import EnrolmentFactory, WorkerFactory, make_nik, worker_payload
from tests.sync.helpers import changes, flat_enrolment, flat_worker
from villages.models import AuditEvent, Device, Role
from workers.models import Worker

# Committed: the sync cursor is made of transaction ids, so each request must be its own
# transaction, as in production (inside one test transaction every row would look "new").
pytestmark = committed


@pytest.fixture
def officer(make_user):
    return make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,), username="petugas-sync")


def pull(client, since=None, **headers):
    query = "" if since is None else f"?last_pulled_at={since}"
    response = client.get(f"/api/v1/sync{query}", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def push(client, since, body, **headers):
    return client.post(f"/api/v1/sync?last_pulled_at={since}", body, format="json", **headers)


def ids(table_changes, kind):
    return sorted(r["id"] if isinstance(r, dict) else r for r in table_changes[kind])


def test_first_pull_is_everything_in_scope_flat(api, officer):
    mine = WorkerFactory(id="mine", heirs=[{"name": "Ani", "relationship": "child", "nik": "", "phone": ""}])
    EnrolmentFactory(id="mine-e", worker=mine)
    WorkerFactory(id="tomb", deleted_at="2026-11-01T00:00:00Z")
    WorkerFactory(id="theirs", village_id=VILLAGE_B)

    body = pull(api(officer))

    assert isinstance(body["timestamp"], int)
    assert body["timestamp"] > 0
    workers, enrolments = body["changes"]["workers"], body["changes"]["enrolments"]
    assert (ids(workers, "created"), workers["updated"], workers["deleted"]) == (["mine"], [], [])
    record = workers["created"][0]
    assert record["nik"] == mine.nik  # a field officer of the village sees the full NIK
    assert json.loads(record["heirs"]) == [{"name": "Ani", "relationship": "child", "nik": "", "phone": ""}]
    assert (record["warnings"], record["errors"], record["needs_correction"]) == ("[]", "{}", False)
    assert all(not isinstance(v, (dict, list)) for v in record.values())  # flat columns only
    assert [(e["id"], e["worker"], e["programs"], e["status"]) for e in enrolments["created"]] == [
        ("mine-e", "mine", '["JKK","JKM"]', "draft")
    ]
    event = AuditEvent.objects.get(action="sync_pull", object_type="sync")
    assert (event.context["workers"], event.context["enrolments"], event.context["full_nik"]) == (1, 1, True)


def test_supervisor_pulls_masked_niks_and_viewer_may_not_sync(api, make_user):
    worker = WorkerFactory(id="w1")
    supervisor = make_user(Role.SUPERVISOR, ("17.04",))
    record = pull(api(supervisor))["changes"]["workers"]["created"][0]
    assert record["nik"] == worker.nik[:4] + "********" + worker.nik[-4:]

    viewer = make_user(Role.VIEWER, ("17",))
    response = api(viewer).get("/api/v1/sync")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_incremental_pull_has_only_what_changed_after_the_cursor(api, officer, make_user):
    WorkerFactory(id="old")
    WorkerFactory(id="edited")
    WorkerFactory(id="removed")
    client = api(officer)
    since = pull(client)["timestamp"]

    operator = api(make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,)), device_id="panel")
    assert operator.post("/api/v1/workers", flat_worker_as_rest("new"), format="json").status_code == 201
    assert operator.patch("/api/v1/workers/edited", {"full_name": "Nama Baru"}, format="json").status_code == 200
    assert operator.delete("/api/v1/workers/removed").status_code == 204

    workers = pull(client, since)["changes"]["workers"]
    assert (ids(workers, "created"), ids(workers, "updated"), workers["deleted"]) == (["new"], ["edited"], ["removed"])
    assert workers["updated"][0]["full_name"] == "Nama Baru"


def flat_worker_as_rest(record_id):
    return worker_payload(id=record_id)


def test_bad_cursor_is_a_400_in_the_envelope(api, officer):
    response = api(officer, language="en").get("/api/v1/sync?last_pulled_at=yesterday")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {
        "last_pulled_at": ["Send the timestamp of your last pull (a whole number) or null."]
    }


def test_push_creates_and_the_same_push_again_changes_nothing(api, officer):
    client = api(officer)
    since = pull(client)["timestamp"]
    worker = flat_worker()
    body = changes({"created": [worker]}, {"created": [flat_enrolment(worker["id"])]})

    first = push(client, since, body)
    assert first.status_code == 200, first.content
    assert first.json()["applied"]["workers"] == {
        "created": 1, "updated": 0, "unchanged": 0, "deleted": 0, "needs_correction": 0,
    }  # fmt: skip
    stored = Worker.objects.get(id=worker["id"])
    enrolment = Enrolment.objects.get(id=f"e-{worker['id']}")
    assert (stored.nik, stored.phone, stored.version, stored.created_by) == (
        worker["nik"],
        "+6281234567890",
        1,
        officer,
    )
    assert (enrolment.status, enrolment.monthly_contribution, enrolment.village_id) == ("draft", 16_800, GEDUNG_WANI)
    audits = AuditEvent.objects.count()

    again = push(client, since, body)  # the response was lost; the app sends it again
    assert again.status_code == 200, again.content
    assert again.json()["applied"]["workers"]["unchanged"] == 1
    assert again.json()["applied"]["enrolments"]["unchanged"] == 1
    assert Worker.objects.get(id=worker["id"]).version == 1
    assert Enrolment.objects.get(id=enrolment.id).version == 1
    assert AuditEvent.objects.count() == audits + 1  # only the push's own summary


def test_pulled_records_pushed_back_unchanged_are_no_change(api, officer):
    client = api(officer)
    heirs = [{"name": "Ani", "relationship": "child", "nik": make_nik(), "phone": "0812 1111 2222"}]
    assert client.post("/api/v1/workers", worker_payload(id="a", heirs=heirs), format="json").status_code == 201
    enrolment = {"id": "a-e", "worker": "a", "segment": "BPU", "programs": ["JKK", "JKM", "JHT"],
                 "funding_source": "mandiri", "budget_year": 2026, "coverage_start": "2026-12-01"}  # fmt: skip
    assert client.post("/api/v1/enrolments", enrolment, format="json").status_code == 201
    body = pull(client)
    echoed = {
        table: {"created": [], "updated": [dict(r, _status="updated") for r in body["changes"][table]["created"]]}
        for table in ("workers", "enrolments")
    }
    response = push(client, body["timestamp"], {"changes": echoed})
    assert response.status_code == 200, response.content
    assert response.json()["applied"]["workers"]["unchanged"] == 1
    assert response.json()["applied"]["enrolments"]["unchanged"] == 1
    assert (Worker.objects.get(id="a").version, Enrolment.objects.get(id="a-e").version) == (1, 1)


def test_protocol_rules_created_existing_updated_missing_deleted_missing(api, officer):
    WorkerFactory(id="exists", full_name="Lama")
    client = api(officer)
    since = pull(client)["timestamp"]
    as_created = flat_worker(id="exists", full_name="Baru", unknown_column="x", version=99)
    as_updated = flat_worker(id="missing", _status="updated")
    response = push(client, since, changes({"created": [as_created], "updated": [as_updated], "deleted": ["nope"]}))

    assert response.status_code == 200, response.content
    assert response.json()["applied"]["workers"] == {
        "created": 1, "updated": 1, "unchanged": 0, "deleted": 0, "needs_correction": 0,
    }  # fmt: skip
    assert Worker.objects.get(id="exists").full_name == "Baru"
    assert Worker.objects.get(id="exists").version == 2  # the pushed version is server-owned
    assert Worker.objects.filter(id="missing").exists()


def test_server_owned_enrolment_fields_are_ignored(api, officer):
    client = api(officer)
    since = pull(client)["timestamp"]
    worker = flat_worker()
    enrolment = flat_enrolment(
        worker["id"], status="active", registry_number="99999999999", monthly_contribution=1, village=VILLAGE_B
    )
    response = push(client, since, changes({"created": [worker]}, {"created": [enrolment]}))
    assert response.status_code == 200, response.content
    stored = Enrolment.objects.get(id=enrolment["id"])
    assert (stored.status, stored.registry_number, stored.monthly_contribution, stored.village_id) == (
        Status.DRAFT, "", 16_800, GEDUNG_WANI,
    )  # fmt: skip


def test_officer_may_submit_from_the_device(api, officer):
    client = api(officer)
    since = pull(client)["timestamp"]
    worker = flat_worker()
    enrolment = flat_enrolment(worker["id"], status="submitted")
    assert push(client, since, changes({"created": [worker]}, {"created": [enrolment]})).status_code == 200
    assert Enrolment.objects.get(id=enrolment["id"]).status == Status.SUBMITTED


def test_conflict_applies_nothing(api, officer, make_user):
    WorkerFactory(id="shared", full_name="Awal")
    client = api(officer)
    since = pull(client)["timestamp"]
    operator = make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,))
    assert api(operator).patch("/api/v1/workers/shared", {"full_name": "Operator"}, format="json").status_code == 200
    audits = AuditEvent.objects.count()

    new = flat_worker()
    edit = flat_worker(id="shared", full_name="Petugas", _status="updated")
    response = push(client, since, changes({"created": [new], "updated": [edit]}))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sync_conflict"
    assert response.json()["error"]["details"] == {"workers": ["shared"]}
    assert not Worker.objects.filter(id=new["id"]).exists()
    assert Worker.objects.get(id="shared").full_name == "Operator"
    assert AuditEvent.objects.count() == audits

    # The app pulls (gets the operator's edit), merges, and pushes again with the new cursor.
    again = pull(client, since)
    assert ids(again["changes"]["workers"], "updated") == ["shared"]
    retry = push(client, again["timestamp"], changes({"created": [new], "updated": [edit]}))
    assert retry.status_code == 200, retry.content
    assert Worker.objects.get(id="shared").full_name == "Petugas"


def test_delete_of_a_record_changed_on_the_server_is_a_conflict(api, officer, make_user):
    WorkerFactory(id="gone")
    client = api(officer)
    since = pull(client)["timestamp"]
    operator = make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,))
    assert api(operator).patch("/api/v1/workers/gone", {"full_name": "Ubah"}, format="json").status_code == 200
    response = push(client, since, changes({"deleted": ["gone"]}))
    assert (response.status_code, response.json()["error"]["details"]) == (409, {"workers": ["gone"]})
    assert Worker.objects.get(id="gone").deleted_at is None


def test_push_deletes_are_soft_and_reported_on_pull(api, officer, make_user):
    worker = WorkerFactory(id="bye")
    EnrolmentFactory(id="bye-e", worker=worker)
    client = api(officer)
    since = pull(client)["timestamp"]
    response = push(client, since, changes({"deleted": ["bye"]}, {"deleted": ["bye-e"]}))
    assert response.status_code == 200, response.content
    assert Worker.objects.get(id="bye").deleted_at is not None
    assert Enrolment.objects.get(id="bye-e").deleted_at is not None

    other = api(make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,)), device_id="other-phone")
    body = pull(other, since)
    assert (body["changes"]["workers"]["deleted"], body["changes"]["enrolments"]["deleted"]) == (["bye"], ["bye-e"])


def test_needs_correction_round_trip(api, officer):
    client = api(officer, language="en")
    since = pull(client)["timestamp"]
    bad = flat_worker(nik="1704")
    response = push(client, since, changes({"created": [bad]}))
    assert response.status_code == 200, response.content
    assert response.json()["applied"]["workers"]["needs_correction"] == 1
    stored = Worker.objects.get(id=bad["id"])
    assert (stored.needs_correction, stored.nik, stored.errors) == (
        True,
        "1704",
        {"nik": ["A NIK has exactly 16 digits."]},
    )

    body = pull(client, since)
    # The device pushed it, so it has it: `updated` (a `created` would make WatermelonDB re-create it).
    record = body["changes"]["workers"]["updated"][0]
    assert (record["id"], record["needs_correction"], json.loads(record["errors"])) == (
        bad["id"], True, {"nik": ["A NIK has exactly 16 digits."]},
    )  # fmt: skip

    fixed = dict(record, nik=make_nik(), _status="updated")
    response = push(client, body["timestamp"], changes({"updated": [fixed]}))
    assert response.status_code == 200, response.content
    stored.refresh_from_db()
    assert (stored.needs_correction, stored.errors, stored.nik, stored.version) == (False, {}, fixed["nik"], 2)
    record = pull(client, body["timestamp"])["changes"]["workers"]["updated"][0]
    assert (record["needs_correction"], record["errors"]) == (False, "{}")


def test_records_that_cannot_be_stored_are_quarantined_not_lost(api, officer):
    client = api(officer)
    since = pull(client)["timestamp"]
    elsewhere = flat_worker(village=VILLAGE_B)
    good = flat_worker()
    response = push(client, since, changes({"created": [elsewhere, good]}))

    assert response.status_code == 200, response.content
    (item,) = response.json()["quarantined"]
    assert (item["table"], item["id"], item["code"]) == ("workers", elsewhere["id"], "village_not_allowed")
    quarantined = SyncQuarantine.objects.get()
    assert (quarantined.record_id, quarantined.user, quarantined.record["nik"]) == (
        elsewhere["id"], officer, elsewhere["nik"],
    )  # fmt: skip
    assert not Worker.objects.filter(id=elsewhere["id"]).exists()
    assert Worker.objects.filter(id=good["id"]).exists()


def test_malformed_push_is_a_400_and_too_many_records_a_413(api, officer):
    client = api(officer, language="en")
    response = push(client, 1, {"changes": {"workers": {"created": "nope"}}})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {"changes.workers.created": ["Send a list of records."]}
    huge = changes({"deleted": [f"x{i}" for i in range(5001)]})
    response = push(client, 1, huge)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "too_many_records")


def test_officer_moved_to_another_village_loses_the_old_one(api, officer, make_user):
    EnrolmentFactory(id="old-1-e", worker=WorkerFactory(id="old-1"))
    WorkerFactory(id="new-1", village_id=VILLAGE_B)
    client = api(officer)
    since = pull(client)["timestamp"]

    admin = make_user(Role.ADMIN, ())
    response = api(admin).patch(f"/api/v1/users/{officer.pk}", {"areas": [VILLAGE_B]}, format="json")
    assert response.status_code == 200, response.content

    body = pull(api(officer, device_id="test-device"), since)  # logged in again on the same phone
    workers, enrolments = body["changes"]["workers"], body["changes"]["enrolments"]
    assert (ids(workers, "created"), workers["updated"], workers["deleted"]) == (["new-1"], [], ["old-1"])
    assert enrolments["deleted"] == ["old-1-e"]


def test_a_record_moving_to_another_village_is_deleted_for_the_old_one(api, officer, make_user):
    worker = WorkerFactory(id="mover")
    EnrolmentFactory(id="mover-e", worker=worker)
    client = api(officer)
    since = pull(client)["timestamp"]
    operator = make_user(Role.VILLAGE_OPERATOR, ("17.04.01",))
    response = api(operator).patch("/api/v1/workers/mover", {"village": VILLAGE_B}, format="json")
    assert response.status_code == 200, response.content

    body = pull(client, since)
    assert body["changes"]["workers"]["deleted"] == ["mover"]
    assert body["changes"]["enrolments"]["deleted"] == ["mover-e"]
    neighbour = make_user(Role.FIELD_OFFICER, (VILLAGE_B,))
    theirs = pull(api(neighbour, device_id="b-phone"), since)["changes"]
    # New to the neighbour's device, so `created` there.
    assert (ids(theirs["workers"], "created"), ids(theirs["enrolments"], "created")) == (["mover"], ["mover-e"])
    assert theirs["workers"]["updated"] == []


def test_device_health_is_recorded(api, officer, make_user):
    client = api(officer, device_id="hp-1")
    body = pull(client, None, HTTP_X_APP_VERSION="1.4.0", HTTP_X_PENDING_CHANGES="7")
    device = Device.objects.get(user=officer, device_id="hp-1")
    assert (device.app_version, device.pending_count, device.last_push_at) == ("1.4.0", 7, None)
    assert device.last_pull_at is not None
    assert push(client, body["timestamp"], changes(), HTTP_X_PENDING_CHANGES="0").status_code == 200
    device.refresh_from_db()
    assert (device.pending_count, device.last_push_at is not None) == (0, True)

    supervisor = make_user(Role.SUPERVISOR, ("17.04",))
    listed = api(supervisor).get("/api/v1/devices").json()["results"]
    row = next(d for d in listed if d["device_id"] == "hp-1")
    assert (row["app_version"], row["pending_count"]) == ("1.4.0", 0)
    assert row["last_pull_at"] is not None
    assert row["last_push_at"] is not None


def test_an_enrolment_of_a_person_needing_correction_is_kept_flagged_too(api, officer):
    client = api(officer, language="en")
    since = pull(client)["timestamp"]
    worker = flat_worker(nik="12")
    enrolment = flat_enrolment(worker["id"], status="submitted")
    response = push(client, since, changes({"created": [worker]}, {"created": [enrolment]}))
    assert response.status_code == 200, response.content
    assert response.json()["quarantined"] == []
    stored = Enrolment.objects.get(id=enrolment["id"])
    assert (stored.needs_correction, stored.status) == (True, Status.DRAFT)
    assert stored.errors == {"worker": ["The worker's own data needs correction before enrolling them."]}


def test_records_a_device_pushed_come_back_to_it_as_updated_and_to_others_as_created(api, officer):
    phone_a = api(officer, device_id="phone-a")
    phone_b = api(officer, device_id="phone-b")
    since_a, since_b = pull(phone_a)["timestamp"], pull(phone_b)["timestamp"]
    worker = flat_worker()
    assert push(phone_a, since_a, changes({"created": [worker]})).status_code == 200

    mine = pull(phone_a, since_a)["changes"]["workers"]
    assert (mine["created"], ids(mine, "updated")) == ([], [worker["id"]])
    theirs = pull(phone_b, since_b)["changes"]["workers"]
    assert (ids(theirs, "created"), theirs["updated"]) == ([worker["id"]], [])


def test_moving_a_worker_and_editing_the_enrolment_in_one_push_is_no_conflict(api, make_user):
    officer = make_user(Role.FIELD_OFFICER, ("17.04.01",), username="petugas-kecamatan")
    client = api(officer)
    worker = flat_worker()
    enrolment = flat_enrolment(worker["id"])
    since = pull(client)["timestamp"]
    assert push(client, since, changes({"created": [worker]}, {"created": [enrolment]})).status_code == 200
    since = pull(client, since)["timestamp"]

    moved = dict(worker, village=VILLAGE_B, _status="updated")
    edited = dict(enrolment, payment_period_months=3, _status="updated")
    response = push(client, since, changes({"updated": [moved]}, {"updated": [edited]}))
    assert response.status_code == 200, response.content
    stored = Enrolment.objects.get(id=enrolment["id"])
    assert (stored.village_id, stored.payment_period_months) == (VILLAGE_B, 3)
