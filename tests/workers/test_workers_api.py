import datetime as dt
import json

import pytest
from django.db import DatabaseError, transaction

from config.pii import blind_index
from tests.conftest import GEDUNG_WANI, KAUR, OTHER_REGENCY_VILLAGE, VILLAGE_B
from tests.factories import WorkerFactory, make_nik, worker_payload
from villages.models import AuditEvent, Role
from workers.models import Worker


@pytest.fixture
def officer(make_user):
    return make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,), username="petugas")


# --- names and phones --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Sukarno", "Sukarno"),  # one name is a whole name
        ("  Ma'ruf Amin ", "Ma'ruf Amin"),
        ("Nurul 'Aini", "Nurul 'Aini"),
        ("I Gusti Ayu Made Sri", "I Gusti Ayu Made Sri"),
        ("hj. siti nurhaliza", "hj. siti nurhaliza"),  # case kept as typed
        ("Thérèse Nguyễn", "Thérèse Nguyễn"),
    ],
)
def test_names_are_kept_as_typed(api, officer, typed, stored):
    body = worker_payload(full_name=typed)
    response = api(officer).post("/api/v1/workers", body, format="json")
    assert response.status_code == 201
    assert response.json()["full_name"] == stored
    assert Worker.objects.get(id=body["id"]).full_name == stored


@pytest.mark.parametrize("typed", ["", "   ", "1704010101900001", "123"])
def test_names_need_letters(api, officer, typed):
    response = api(officer).post("/api/v1/workers", worker_payload(full_name=typed), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["full_name"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(0736) 21234", "+6273621234"),  # a Bengkulu landline
        ("", ""),
    ],
)
def test_phone_numbers_as_typed_in_indonesia_are_stored_e164(api, officer, typed, stored):
    body = worker_payload(phone=typed)
    assert api(officer).post("/api/v1/workers", body, format="json").status_code == 201
    assert Worker.objects.get(id=body["id"]).phone == stored


@pytest.mark.parametrize("typed", ["0812", "12345", "08123", "halo"])
def test_bad_phone_numbers_are_refused(api, officer, typed):
    response = api(officer).post("/api/v1/workers", worker_payload(phone=typed), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "phone_invalid"
    assert list(response.json()["error"]["details"]["fields"]) == ["phone"]


def test_nested_errors_are_named_by_path(api, officer):
    body = worker_payload(address={"rt": "abcd"}, heirs=[{"name": "Ani", "relationship": "cousin", "nik": "123"}])
    response = api(officer, language="en").post("/api/v1/workers", body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["details"]["fields"]
    assert sorted(fields) == ["address.rt", "heirs.0.nik", "heirs.0.relationship"]
    assert fields["heirs.0.nik"] == ["A NIK has exactly 16 digits."]


def test_missing_required_fields_are_all_listed(api, officer):
    response = api(officer).post("/api/v1/workers", {"id": "x1"}, format="json")
    assert response.status_code == 400
    # Not the NIK: a person without one yet is registered as pending (tests/workers/test_nik_status.py).
    assert sorted(response.json()["error"]["details"]["fields"]) == [
        "birth_date", "full_name", "occupation", "sex", "village",
    ]  # fmt: skip


def test_village_outside_scope_is_refused(api, officer):
    response = api(officer).post("/api/v1/workers", worker_payload(village=VILLAGE_B), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "village_not_allowed"


def test_age_outside_the_window_warns(api, officer):
    body = worker_payload(birth_date="1950-03-03")
    assert api(officer).post("/api/v1/workers", body, format="json").status_code == 201
    assert Worker.objects.get(id=body["id"]).warnings == ["age_outside_window"]


def test_possible_duplicate_warns(api, officer):
    first = worker_payload(full_name="Budi Santoso")
    second = worker_payload(full_name="budi santoso")  # same person, NIK typed differently
    api(officer).post("/api/v1/workers", first, format="json")
    response = api(officer).post("/api/v1/workers", second, format="json")
    assert response.status_code == 201
    assert response.json()["warnings"] == ["possible_duplicate"]


# --- duplicates and idempotency ------------------------------------------------------------------


def test_duplicate_nik_in_scope_names_the_existing_worker(api, officer):
    first = worker_payload()
    api(officer).post("/api/v1/workers", first, format="json")
    second = worker_payload(nik=first["nik"], full_name="Orang Lain")

    response = api(officer).post("/api/v1/workers", second, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "nik_already_registered"
    assert response.json()["error"]["details"] == {"worker": first["id"]}
    assert not Worker.objects.filter(id=second["id"]).exists()


def test_duplicate_nik_across_scopes_says_nothing_about_the_other_record(api, make_user):
    elsewhere = WorkerFactory(village_id=OTHER_REGENCY_VILLAGE, full_name="Rahasia Orang")
    officer = make_user(areas=(GEDUNG_WANI,))
    body = worker_payload(nik=elsewhere.nik)

    response = api(officer, language="en").post("/api/v1/workers", body, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "nik_already_registered", "message": "This NIK is already registered.", "details": {}}
    }
    assert "Rahasia" not in response.content.decode()
    assert OTHER_REGENCY_VILLAGE not in response.content.decode()
    assert Worker.objects.filter(nik_bi=blind_index(elsewhere.nik, purpose="nik")).count() == 1


def test_a_deleted_workers_nik_can_be_registered_again(api, officer):
    old = WorkerFactory(deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    response = api(officer).post("/api/v1/workers", worker_payload(nik=old.nik), format="json")
    assert response.status_code == 201


def test_replayed_create_answers_200_with_one_row(api, officer):
    body = worker_payload()
    client = api(officer)
    first = client.post("/api/v1/workers", body, format="json")
    replays = [client.post("/api/v1/workers", body, format="json") for _ in range(3)]

    assert first.status_code == 201
    assert [r.status_code for r in replays] == [200, 200, 200]
    assert all(r.json() == first.json() for r in replays)
    assert Worker.objects.filter(id=body["id"]).count() == 1
    assert AuditEvent.objects.filter(object_id=body["id"], action="create").count() == 1


def test_same_id_other_body_is_422(api, officer):
    body = worker_payload()
    api(officer).post("/api/v1/workers", body, format="json")
    response = api(officer).post("/api/v1/workers", {**body, "full_name": "Lain"}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Worker.objects.get(id=body["id"]).full_name == "Siti Aminah"


def test_server_generates_an_id_when_none_is_sent(api, officer):
    body = worker_payload()
    del body["id"]
    response = api(officer).post("/api/v1/workers", body, format="json")
    assert response.status_code == 201
    assert len(response.json()["id"]) == 32


# --- PATCH, If-Match, delete ------------------------------------------------------------------------


def test_patch_bumps_version_and_audits_the_change(api, officer):
    body = worker_payload()
    client = api(officer)
    client.post("/api/v1/workers", body, format="json")

    response = client.patch(
        f"/api/v1/workers/{body['id']}", {"phone": "0813 1111 2222"}, format="json", HTTP_IF_MATCH="1"
    )

    assert response.status_code == 200
    assert (response.json()["version"], response.json()["phone"]) == (2, "+6281311112222")
    worker = Worker.objects.get(id=body["id"])
    assert (worker.version, worker.phone) == (2, "+6281311112222")
    event = AuditEvent.objects.get(object_id=body["id"], action="update")
    assert event.changes == {"phone": ["+62*******7890", "+62*******2222"]}  # masked: the log outlives erasure
    assert (event.actor_username, event.area_code, event.context) == ("petugas", GEDUNG_WANI, {"version": 2})


def test_stale_if_match_is_412_and_changes_nothing(api, officer):
    body = worker_payload()
    client = api(officer)
    client.post("/api/v1/workers", body, format="json")
    client.patch(f"/api/v1/workers/{body['id']}", {"phone": "081311112222"}, format="json", HTTP_IF_MATCH="1")
    events_before = AuditEvent.objects.count()

    response = client.patch(f"/api/v1/workers/{body['id']}", {"full_name": "Siti A."}, format="json", HTTP_IF_MATCH="1")

    assert response.status_code == 412
    assert response.json()["error"]["code"] == "precondition_failed"
    assert response.json()["error"]["details"] == {"current_version": 2}
    worker = Worker.objects.get(id=body["id"])
    assert (worker.version, worker.full_name) == (2, "Siti Aminah")
    assert AuditEvent.objects.count() == events_before


def test_a_replayed_patch_succeeds_without_a_new_version(api, officer):
    body = worker_payload()
    client = api(officer)
    client.post("/api/v1/workers", body, format="json")
    patch = {"address": {"rt": "005"}}
    first = client.patch(f"/api/v1/workers/{body['id']}", patch, format="json", HTTP_IF_MATCH="1")
    again = client.patch(f"/api/v1/workers/{body['id']}", patch, format="json", HTTP_IF_MATCH="1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["version"] == 2
    assert again.json()["address"] == {"street": "Jl. Pantai", "dusun": "Dusun I", "rt": "005", "rw": "002"}


def test_bad_if_match_header_is_400(api, officer):
    body = worker_payload()
    api(officer).post("/api/v1/workers", body, format="json")
    response = api(officer).patch(f"/api/v1/workers/{body['id']}", {"phone": ""}, format="json", HTTP_IF_MATCH="abc")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["If-Match"]


def test_soft_delete_keeps_a_tombstone_and_repeats(api, officer):
    body = worker_payload()
    client = api(officer)
    client.post("/api/v1/workers", body, format="json")

    assert client.delete(f"/api/v1/workers/{body['id']}").status_code == 204
    assert client.delete(f"/api/v1/workers/{body['id']}").status_code == 204
    assert client.get(f"/api/v1/workers/{body['id']}").status_code == 404
    worker = Worker.objects.get(id=body["id"])
    assert worker.deleted_at is not None
    assert worker.version == 2
    assert AuditEvent.objects.filter(object_id=body["id"], action="delete").count() == 1
    # The id is never reused.
    reuse = client.post("/api/v1/workers", {**body, "full_name": "Baru"}, format="json")
    assert reuse.status_code == 409
    assert reuse.json()["error"]["code"] == "record_deleted"


# --- scope, roles and masking ----------------------------------------------------------------------


def test_records_outside_scope_are_404_for_every_method(api, officer):
    other = WorkerFactory(village_id=VILLAGE_B)
    client = api(officer)
    assert client.get(f"/api/v1/workers/{other.id}").status_code == 404
    assert client.patch(f"/api/v1/workers/{other.id}", {"phone": ""}, format="json").status_code == 404
    assert client.delete(f"/api/v1/workers/{other.id}").status_code == 404
    assert client.get("/api/v1/workers").json()["results"] == []
    assert Worker.objects.get(id=other.id).deleted_at is None


def test_full_nik_only_for_field_staff_of_the_village(api, make_user):
    worker = WorkerFactory(nik="1704014101900001", kk_number="1704010101010001")
    expected = {
        make_user(role=Role.FIELD_OFFICER): "1704014101900001",
        make_user(role=Role.VILLAGE_OPERATOR): "1704014101900001",
        make_user(role=Role.SUPERVISOR, areas=(KAUR,)): "1704********0001",
        make_user(role=Role.ADMIN, areas=()): "1704********0001",
    }
    for user, nik in expected.items():
        detail = api(user).get(f"/api/v1/workers/{worker.id}").json()
        assert detail["nik"] == nik, user.role
        listed = api(user).get("/api/v1/workers").json()["results"]
        assert [w["nik"] for w in listed] == ["1704********0001"], user.role
        assert listed[0]["kk_number"] == "1704********0001"
        event = AuditEvent.objects.filter(actor=user, action="view").get()
        assert event.context == {"full_nik": nik == "1704014101900001"}


def test_viewers_see_reports_only(api, make_user):
    viewer = make_user(role=Role.VIEWER, areas=("17",))
    assert api(viewer).get("/api/v1/workers").status_code == 403


def test_supervisors_read_but_do_not_write(api, make_user):
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    response = api(supervisor).post("/api/v1/workers", worker_payload(), format="json")
    assert response.status_code == 403
    assert Worker.objects.count() == 0


def test_list_filters(api, officer):
    WorkerFactory(full_name="Ahmad Dahlan", occupation_id="petani")
    target = WorkerFactory(full_name="Siti Walidah", nik="1704014202850007")
    client = api(officer)
    assert [w["id"] for w in client.get("/api/v1/workers?q=walid").json()["results"]] == [target.id]
    assert [w["id"] for w in client.get("/api/v1/workers?q=1704.0142.0285.0007").json()["results"]] == [target.id]
    assert len(client.get("/api/v1/workers?occupation=petani").json()["results"]) == 1
    assert client.get("/api/v1/workers?area=17.01").status_code == 404


# --- the audit log ---------------------------------------------------------------------------------


def test_audit_log_is_append_only_in_the_database(api, officer):
    body = worker_payload()
    api(officer).post("/api/v1/workers", body, format="json")
    event = AuditEvent.objects.get(object_id=body["id"])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_username="someone else")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).actor_username == "petugas"


def test_audit_masks_niks_in_changes(api, officer):
    body = worker_payload(nik=make_nik(dt.date(1990, 1, 1), serial=11))
    client = api(officer)
    client.post("/api/v1/workers", body, format="json")
    new_nik = make_nik(dt.date(1990, 1, 1), serial=12)
    client.patch(f"/api/v1/workers/{body['id']}", {"nik": new_nik}, format="json")
    event = AuditEvent.objects.get(object_id=body["id"], action="update")
    assert event.changes == {"nik": ["1704********0011", "1704********0012"]}


# --- bulk -------------------------------------------------------------------------------------------


def test_bulk_of_1000_with_10_bad_records(api, officer):
    records = [worker_payload(id=f"bulk-{i}", nik=make_nik(dt.date(1980, 1, 1), serial=i + 1)) for i in range(1000)]
    bad = {
        7: ("nik", {"nik": "123"}),
        95: ("phone", {"phone": "0812"}),
        180: ("birth_date", {"birth_date": "1990-02-30"}),
        250: ("sex", {"sex": "X"}),
        333: ("occupation", {"occupation": "astronaut"}),
        404: ("village", {"village": VILLAGE_B}),
        512: ("full_name", {"full_name": ""}),
        640: ("address.rt", {"address": {"rt": "12345"}}),
        777: ("heirs.0.relationship", {"heirs": [{"name": "A", "relationship": "?"}]}),
        999: ("monthly_income", {"monthly_income": -5}),
    }
    for index, (_field, change) in bad.items():
        records[index].update(change)

    response = api(officer).post("/api/v1/workers/bulk", {"records": records}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {"created": 990, "updated": 0, "unchanged": 0, "invalid": 10}
    invalid = {i: r for i, r in enumerate(body["results"]) if r["result"] == "invalid"}
    assert set(invalid) == set(bad)
    for index, (field, _change) in bad.items():
        assert invalid[index]["id"] == f"bulk-{index}"
        assert list(invalid[index]["error"]["details"]["fields"]) == [field], index
    assert Worker.objects.count() == 990
    assert not Worker.objects.filter(id__in=[f"bulk-{i}" for i in bad]).exists()
    assert AuditEvent.objects.filter(action="create", object_type="worker").count() == 990

    again = api(officer).post("/api/v1/workers/bulk", {"records": records}, format="json").json()
    assert again["summary"] == {"created": 0, "updated": 0, "unchanged": 990, "invalid": 10}
    assert Worker.objects.count() == 990


def test_bulk_updates_and_reports_each_record(api, officer):
    client = api(officer)
    a, b = worker_payload(), worker_payload()
    client.post("/api/v1/workers/bulk", {"records": [a, b]}, format="json")
    duplicate_nik = worker_payload(nik=a["nik"])

    body = client.post(
        "/api/v1/workers/bulk", {"records": [{**a, "phone": "081311112222"}, b, duplicate_nik, {**a}]}, format="json"
    ).json()

    assert [r["result"] for r in body["results"]] == ["updated", "unchanged", "invalid", "invalid"]
    assert body["results"][2]["error"]["code"] == "nik_already_registered"
    assert body["results"][3]["error"]["code"] == "duplicate_in_request"
    assert Worker.objects.get(id=a["id"]).version == 2


def test_bulk_limits(api, officer):
    too_many = api(officer).post("/api/v1/workers/bulk", {"records": [{}] * 1001}, format="json")
    assert too_many.status_code == 413
    assert too_many.json()["error"]["details"] == {"max_records": 1000, "received": 1001}
    assert api(officer).post("/api/v1/workers/bulk", {"records": "x"}, format="json").status_code == 400
    assert api(officer).post("/api/v1/workers/bulk", [1, 2], format="json").status_code == 400
    not_objects = api(officer).post("/api/v1/workers/bulk", {"records": [1, "a"]}, format="json").json()
    assert [r["error"]["code"] for r in not_objects["results"]] == ["validation_failed", "validation_failed"]


# --- hostile input: a clear 400 (or 404), never a 500 ---------------------------------------------


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"sex": ["M"]}, "sex"),
        ({"heirs": [{"name": "Ani", "relationship": ["child"]}]}, "heirs.0.relationship"),
        ({"consent": {"given_at": "2026-11-20T09:00:00+07:00", "method": {"a": 1}}}, "consent.method"),
        ({"consent": {"given_at": 10**20, "method": "verbal"}}, "consent.given_at"),
        ({"consent": {"given_at": "0001-01-01T00:00:00+07:00", "method": "verbal"}}, "consent.given_at"),
        ({"village": "17.04.01.2001\u0000"}, "village"),
        ({"id": "abc\u0000"}, "id"),
        ({"id": "x" * 10_000}, "id"),
        (
            {
                "kk_number": "\u0661\u0667\u0660\u0664\u0660\u0661\u0660\u0661\u0660\u0661\u0660\u0661\u0660\u0660\u0660\u0661"
            },
            "kk_number",
        ),
        ({"address": {"rt": "\u0661\u0662"}}, "address.rt"),
    ],
)
def test_hostile_values_are_field_errors(api, officer, override, field):
    body = worker_payload(**override)
    response = api(officer).post("/api/v1/workers", body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert list(response.json()["error"]["details"]["fields"]) == [field]
    assert Worker.objects.count() == 0


def test_an_infinite_consent_time_is_a_field_error(api, officer):
    body = json.dumps(worker_payload()).replace('"2026-11-20T09:00:00+07:00"', "1e400")
    response = api(officer).post("/api/v1/workers", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["consent.given_at"]


def test_other_scripts_digits_in_a_phone_are_stored_as_ascii_e164(api, officer):
    body = worker_payload(phone="0812\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660")
    assert api(officer).post("/api/v1/workers", body, format="json").status_code == 201
    assert Worker.objects.get(id=body["id"]).phone == "+6281234567890"


@pytest.mark.parametrize("path", ["/api/v1/workers/abc%00", "/api/v1/workers/" + "x" * 65, "/api/v1/areas/17%0004"])
def test_ids_that_cannot_exist_are_404(api, officer, path):
    response = api(officer).get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_deeply_nested_json_is_malformed_not_a_crash(api, officer):
    response = api(officer).post("/api/v1/workers", "[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_a_nik_searched_for_is_masked_in_the_audit_log(api, make_user):
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    worker = WorkerFactory(nik="1704014202850007")
    listed = api(supervisor).get("/api/v1/workers?q=1704-0142-0285-0007").json()["results"]
    assert [w["id"] for w in listed] == [worker.id]
    assert AuditEvent.objects.get(action="list", object_id="").context == {
        "count": 1,
        "filters": {"q": "1704********0007"},
    }


def test_a_bulk_replay_stays_unchanged_when_a_lookalike_appeared_since(api, officer):
    client = api(officer)
    a = worker_payload(full_name="Budi Santoso")
    b = worker_payload(full_name="Budi Santoso")  # same name and birth date, another NIK
    client.post("/api/v1/workers/bulk", {"records": [a]}, format="json")
    assert client.post("/api/v1/workers/bulk", {"records": [b]}, format="json").json()["results"][0]["warnings"] == [
        "possible_duplicate"
    ]

    replay = client.post("/api/v1/workers/bulk", {"records": [a]}, format="json").json()

    assert replay["results"][0]["result"] == "unchanged"
    assert Worker.objects.get(id=a["id"]).version == 1
