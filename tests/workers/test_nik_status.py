"""NIK status (API.md "Data quality"): people without a NIK registered as pending, 409
nik_required, operators setting the status, the follow-up list, the NIK arriving later, the
database's invariants and the sync pull."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from config.pii import blind_index
from enrolment.imports.layout import derived_worker_id
from enrolment.models import Enrolment, Status
from tests.conftest import GEDUNG_WANI, VILLAGE_B, committed
from tests.factories import EnrolmentFactory, WorkerFactory, make_nik, worker_payload
from tests.panel.test_imports import csv_file, run
from tests.sync.helpers import changes, flat_worker
from villages.models import AuditEvent, Role
from workers.models import DuplicatePair, Worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(make_user):
    return make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,), username="petugas-nik")


@pytest.fixture
def operator(make_user):
    return make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,), username="operator-nik")


def no_nik(**overrides):
    """A person without a NIK yet: the family card kept as the hint."""
    return worker_payload(**{"nik": "", "kk_number": "1704010101900077", **overrides})


def status_of(worker_id):
    return Worker.objects.values_list("nik", "nik_bi", "nik_status", "nik_status_reason", "version").get(id=worker_id)


def pending_worker(**kwargs):
    return WorkerFactory(nik="", nik_status="pending", **kwargs)


# --- people without a NIK ------------------------------------------------------------------------


def test_a_person_without_a_nik_is_registered_pending(api, officer):
    first, second = no_nik(full_name="Siti Aminah"), no_nik(full_name="Rahmat Saputra", kk_number="")
    responses = [api(officer).post("/api/v1/workers", body, format="json") for body in (first, second)]

    assert [r.status_code for r in responses] == [201, 201]
    assert [(r.json()["nik"], r.json()["nik_status"], r.json()["nik_status_reason"]) for r in responses] == [
        ("", "pending", ""),
        ("", "pending", ""),
    ]
    # Two people without a NIK in one village: the NIK's uniqueness does not apply to them.
    assert status_of(first["id"]) == ("", "", "pending", "", 1)
    assert status_of(second["id"]) == ("", "", "pending", "", 1)
    stored = Worker.objects.get(id=first["id"])
    assert (stored.needs_correction, stored.errors, stored.kk_number) == (False, {}, "1704010101900077")


def test_a_registration_without_a_nik_cannot_be_submitted(api, officer):
    body = {
        "worker": no_nik(),
        "enrolment": {"id": "e-nonik", "funding_source": "apbd_kabupaten", "coverage_start": "2026-12-01"},
    }
    submitted = {**body, "enrolment": {**body["enrolment"], "status": "submitted"}}

    refused = api(officer).post("/api/v1/registrations", submitted, format="json")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["code"], error["details"]) == (
        "nik_required",
        {"worker": body["worker"]["id"], "nik_status": "pending"},
    )
    assert error["message"].startswith("Orang ini belum memiliki NIK")  # Indonesian by default
    assert not Worker.objects.exists()
    assert not Enrolment.objects.exists()

    # As a draft it is kept; submitting it is the same 409, and nothing moves.
    assert api(officer).post("/api/v1/registrations", body, format="json").status_code == 201
    response = api(officer).post("/api/v1/enrolments/e-nonik/submit", {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "nik_required")
    assert Enrolment.objects.values_list("status", "version").get(id="e-nonik") == (Status.DRAFT, 1)


@pytest.mark.parametrize("status", ["not_found", "mismatch"])
def test_a_nik_the_registry_could_not_confirm_blocks_submission(api, officer, status):
    enrolment = EnrolmentFactory(worker=WorkerFactory(nik_status=status, nik_status_reason="Dukcapil"))
    response = api(officer).post(f"/api/v1/enrolments/{enrolment.id}/submit", {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "nik_required")
    assert response.json()["error"]["details"] == {"worker": enrolment.worker_id, "nik_status": status}
    assert Enrolment.objects.get(id=enrolment.id).status == Status.DRAFT


def test_when_the_nik_arrives_the_person_is_unverified_and_a_merge_is_offered(api, officer, operator):
    known = worker_payload(full_name="Yusuf Hidayat", mother_maiden_name="Aisyah")
    assert api(officer).post("/api/v1/workers", known, format="json").status_code == 201
    later = no_nik(full_name="Nur Halimah", birth_date="1985-03-04", sex="F", phone="081399988877")
    created = api(officer).post("/api/v1/workers", later, format="json")
    assert created.status_code == 201
    assert not DuplicatePair.objects.exists()
    EnrolmentFactory(id="e-later", worker_id=later["id"])

    # The NIK arrives from the civil registry.
    nik = make_nik(dt.date(1985, 3, 4), "F", serial=999)
    response = api(officer).patch(f"/api/v1/workers/{later['id']}", {"nik": nik}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["nik_status"], response.json()["version"]) == ("unverified", 2)
    assert status_of(later["id"])[2:] == ("unverified", "", 2)
    update = AuditEvent.objects.get(object_id=later["id"], action="update")
    assert update.changes["nik_status"] == ["pending", "unverified"]
    # Now submittable.
    submitted = api(officer).post("/api/v1/enrolments/e-later/submit", {}, format="json")
    assert submitted.status_code == 200, submitted.json()

    # A second person without a NIK is the first one registered again: the NIK that arrives is
    # the first person's, mistyped by one digit. The duplicate finder runs on the update and
    # stores the pair, so a merge is offered.
    twin = no_nik(full_name="Yusuf Hidayat", mother_maiden_name="Aisyah", phone="081311122233")
    assert api(officer).post("/api/v1/workers", twin, format="json").status_code == 201
    DuplicatePair.objects.all().delete()  # only the pair the NIK's arrival finds is of interest
    typo = known["nik"][:-1] + ("7" if known["nik"][-1] != "7" else "8")
    response = api(officer).patch(f"/api/v1/workers/{twin['id']}", {"nik": typo}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["nik_status"] == "unverified"
    pair = DuplicatePair.objects.get()
    assert (pair.a_id, pair.b_id, pair.status) == (*sorted([known["id"], twin["id"]]), "open")
    assert response.json()["warnings"] == ["possible_duplicate"]
    listed = api(operator).get("/api/v1/duplicates").json()["results"]
    assert [(p["a"]["id"], p["b"]["id"]) for p in listed] == [tuple(sorted([known["id"], twin["id"]]))]


def test_a_nik_removed_makes_the_person_pending_and_a_changed_nik_unverified(api, officer):
    worker = WorkerFactory(nik_status="verified")
    removed = api(officer).patch(f"/api/v1/workers/{worker.id}", {"nik": ""}, format="json")
    assert (removed.status_code, removed.json()["nik_status"]) == (200, "pending")
    assert status_of(worker.id) == ("", "", "pending", "", 2)

    same = WorkerFactory(nik_status="not_found", nik_status_reason="NIK not found at Dukcapil.")
    kept = api(officer).patch(f"/api/v1/workers/{same.id}", {"birth_place": "Bintuhan"}, format="json")
    assert (kept.status_code, kept.json()["nik_status"]) == (200, "not_found")
    assert status_of(same.id)[2:] == ("not_found", "NIK not found at Dukcapil.", 2)
    changed = api(officer).patch(f"/api/v1/workers/{same.id}", {"nik": same.nik[:-4] + "0777"}, format="json")
    assert (changed.status_code, changed.json()["nik_status"]) == (200, "unverified")
    assert status_of(same.id)[2:] == ("unverified", "", 3)


def test_the_database_holds_pending_to_no_nik(db):
    worker = WorkerFactory()
    pending = pending_worker()
    for bad in (
        {"nik_status": "pending"},  # a NIK, yet pending
        {"nik_status": "checked"},  # not a status
        {"nik_status": "verified", "nik_status_reason": "looked fine"},  # a reason only for a problem
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Worker.objects.filter(pk=worker.pk).update(**bad)
    with pytest.raises(IntegrityError), transaction.atomic():
        Worker.objects.filter(pk=pending.pk).update(nik_status="unverified")  # no NIK, yet not pending
    assert Worker.objects.values_list("nik_status", flat=True).get(pk=worker.pk) == "unverified"
    assert Worker.objects.values_list("nik_status", flat=True).get(pk=pending.pk) == "pending"


# --- operators set it ---------------------------------------------------------------------------


def test_an_operator_sets_the_status_with_if_match_and_it_is_audited(api, operator):
    worker = WorkerFactory()
    url = f"/api/v1/workers/{worker.id}/nik-status"
    body = {"nik_status": "mismatch", "reason": "  Tanggal lahir di Dukcapil 1990-01-10 "}

    stale = api(operator).post(url, body, format="json", HTTP_IF_MATCH="2")
    assert (stale.status_code, stale.json()["error"]["code"]) == (412, "precondition_failed")
    response = api(operator).post(url, body, format="json", HTTP_IF_MATCH="1")

    assert response.status_code == 200, response.json()
    assert (response.json()["nik_status"], response.json()["nik_status_reason"], response.json()["version"]) == (
        "mismatch",
        "Tanggal lahir di Dukcapil 1990-01-10",
        2,
    )
    assert response.json()["nik"] == worker.nik  # the operator of the village sees it in full
    assert status_of(worker.id)[2:] == ("mismatch", "Tanggal lahir di Dukcapil 1990-01-10", 2)
    event = AuditEvent.objects.get(object_id=worker.id, action="update")
    assert (event.actor_username, event.area_code) == ("operator-nik", GEDUNG_WANI)
    assert event.changes == {
        "nik_status": ["unverified", "mismatch"],
        "nik_status_reason": ["", "Tanggal lahir di Dukcapil 1990-01-10"],
        "version": [1, 2],
    }
    # The same again changes nothing (a replay); verified drops the reason.
    assert api(operator).post(url, body, format="json").json()["version"] == 2
    assert AuditEvent.objects.filter(object_id=worker.id, action="update").count() == 1
    verified = api(operator).post(url, {"nik_status": "verified", "reason": "cek ulang"}, format="json")
    assert (verified.status_code, verified.json()["nik_status_reason"]) == (200, "")
    assert status_of(worker.id)[2:] == ("verified", "", 3)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"nik_status": "ok"}, "nik_status", "Pilih salah satu: unverified, verified, not_found, mismatch."),
        ({}, "nik_status", "Bidang ini harus diisi."),
        ({"nik_status": "pending"}, "nik_status", "Hanya orang tanpa NIK yang berstatus pending"),
        ({"nik_status": "not_found", "reason": 5}, "reason", "Isi dengan teks."),
    ],
)
def test_bad_values_are_400_in_indonesian(api, operator, body, field, message):
    worker = WorkerFactory()
    response = api(operator).post(f"/api/v1/workers/{worker.id}/nik-status", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["details"]["fields"])) == ("validation_failed", [field])
    assert error["details"]["fields"][field][0].startswith(message)
    assert status_of(worker.id)[2:] == ("unverified", "", 1)
    assert not AuditEvent.objects.filter(object_id=worker.id, action="update").exists()


def test_a_person_without_a_nik_stays_pending_whatever_is_set(api, operator):
    worker = pending_worker()
    url = f"/api/v1/workers/{worker.id}/nik-status"
    refused = api(operator).post(url, {"nik_status": "verified"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["fields"]["nik_status"] == [
        "Orang ini belum memiliki NIK: catat NIK-nya terlebih dahulu."
    ]
    noted = api(operator).post(
        url, {"nik_status": "pending", "reason": "KTP hilang, diurus di Disdukcapil"}, format="json"
    )
    assert noted.status_code == 200
    assert status_of(worker.id) == ("", "", "pending", "KTP hilang, diurus di Disdukcapil", 2)


def test_outside_scope_is_404_and_a_supervisor_may_not_set_it(api, operator, make_user):
    elsewhere = WorkerFactory(village_id=VILLAGE_B)
    response = api(operator).post(
        f"/api/v1/workers/{elsewhere.id}/nik-status", {"nik_status": "verified"}, format="json"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    supervisor = make_user(role=Role.SUPERVISOR, areas=("17.04",))
    mine = WorkerFactory()
    response = api(supervisor).post(f"/api/v1/workers/{mine.id}/nik-status", {"nik_status": "verified"}, format="json")
    assert response.status_code == 403
    assert Worker.objects.filter(nik_status="unverified").count() == 2


# --- follow-up lists ----------------------------------------------------------------------------


def test_the_follow_up_list_is_a_comma_list_in_scope(api, make_user):
    pending = pending_worker(id="a-pending")
    WorkerFactory(id="b-notfound", nik_status="not_found", nik_status_reason="NIK not found at Dukcapil.")
    WorkerFactory(id="c-mismatch", nik_status="mismatch", nik_status_reason="x")
    WorkerFactory(id="d-verified", nik_status="verified")
    WorkerFactory(id="e-unverified")
    pending_worker(id="f-elsewhere", village_id=VILLAGE_B)
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))

    listed = api(officer).get("/api/v1/workers", {"nik_status": "pending,not_found,mismatch"}).json()["results"]
    assert [(w["id"], w["nik_status"]) for w in listed] == [
        ("a-pending", "pending"),
        ("b-notfound", "not_found"),
        ("c-mismatch", "mismatch"),
    ]
    assert listed[1]["nik_status_reason"] == "NIK not found at Dukcapil."
    only = api(officer).get("/api/v1/workers", {"nik_status": "pending"}).json()["results"]
    assert [w["id"] for w in only] == [pending.id]
    supervisor = make_user(role=Role.SUPERVISOR, areas=("17.04",))
    seen = api(supervisor).get("/api/v1/workers", {"nik_status": "pending"}).json()["results"]
    assert [w["id"] for w in seen] == ["a-pending", "f-elsewhere"]

    bad = api(officer).get("/api/v1/workers", {"nik_status": "pending,lost"})
    assert bad.status_code == 400
    assert list(bad.json()["error"]["details"]["fields"]) == ["nik_status"]


# --- devices -----------------------------------------------------------------------------------


@committed
def test_devices_pull_the_status_and_cannot_push_it(api, make_user):
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,), username="petugas-sync-nik")
    client = api(officer)
    WorkerFactory(id="w-notfound", nik_status="not_found", nik_status_reason="NIK not found at Dukcapil.")
    pulled = client.get("/api/v1/sync").json()
    record = pulled["changes"]["workers"]["created"][0]
    assert (record["nik_status"], record["nik_status_reason"]) == ("not_found", "NIK not found at Dukcapil.")

    pushed = flat_worker(nik="", nik_status="verified", nik_status_reason="trust me")
    response = client.post(
        f"/api/v1/sync?last_pulled_at={pulled['timestamp']}", changes({"created": [pushed]}), format="json"
    )
    assert response.status_code == 200, response.content
    assert status_of(pushed["id"]) == ("", "", "pending", "", 1)
    assert Worker.objects.get(id=pushed["id"]).needs_correction is False


def test_an_import_row_without_a_nik_is_registered_pending(api, operator):
    no_nik_row = ["", "Siti Aminah", "P", "01-01-1990", GEDUNG_WANI, "Nelayan", "", "", "", "", "", ""]
    other = ["", "Darmawan", "L", "1985-02-05", GEDUNG_WANI, "petani", "", "", "", "", "", ""]
    job, rows = run(api(operator), csv_file([no_nik_row, other]))

    assert job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    assert {n: r["result"] for n, r in rows.items()} == {2: "created", 3: "created"}
    first = derived_worker_id(GEDUNG_WANI, "no-nik:Siti Aminah:1990-01-01")
    second = derived_worker_id(GEDUNG_WANI, "no-nik:Darmawan:1985-02-05")
    assert sorted(Worker.objects.values_list("id", "nik", "nik_status", "needs_correction")) == sorted(
        [(first, "", "pending", False), (second, "", "pending", False)]
    )


def test_a_merge_that_takes_the_other_records_nik_takes_its_status(api, officer, operator):
    known = worker_payload(full_name="Yusuf Hidayat", mother_maiden_name="Aisyah")
    assert api(officer).post("/api/v1/workers", known, format="json").status_code == 201
    Worker.objects.filter(id=known["id"]).update(nik_status="verified")
    twin = no_nik(full_name="Yusuf Hidayat", mother_maiden_name="Aisyah")
    assert api(officer).post("/api/v1/workers", twin, format="json").status_code == 201
    pair = DuplicatePair.objects.get()

    response = api(operator).post(
        f"/api/v1/duplicates/{pair.id}/merge", {"keep": twin["id"], "fields": {"nik": known["id"]}}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert status_of(twin["id"]) == (known["nik"], blind_index(known["nik"], purpose="nik"), "verified", "", 2)
    tombstone = Worker.objects.get(id=known["id"])
    assert (tombstone.deleted_at is not None, tombstone.merged_into_id) == (True, twin["id"])
    event = AuditEvent.objects.get(object_id=twin["id"], action="update")
    assert event.changes["nik_status"] == ["pending", "verified"]
    assert "nik_bi" not in event.changes
