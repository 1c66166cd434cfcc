"""Data-subject rights: personal-data, access-log, audit/access, erase, restrict."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone, translation

from enrolment.funding.models import Claim, DeathReport
from enrolment.models import Enrolment
from panel.selectors import history
from tests.conftest import GEDUNG_WANI, committed
from tests.factories import EnrolmentFactory, WorkerFactory, worker_payload
from tests.privacy.test_no_plaintext import dump_database
from villages.models import AuditEvent, Role
from workers.models import Worker

NIK, KK, PHONE = "1704014101900777", "1704010101007777", "+6281277770000"
HEIR_NIK = "1704010505100778"


def person(**fields):
    return WorkerFactory(
        nik=NIK,
        kk_number=KK,
        phone=PHONE,
        full_name="Siti Rahayu",
        mother_maiden_name="Fatimah",
        heirs=[{"name": "Rahmat", "relationship": "child", "nik": HEIR_NIK, "phone": ""}],
        **fields,
    )


def test_personal_data_holds_everything_and_is_audited(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    officer = make_user(role=Role.FIELD_OFFICER)
    worker = person()
    enrolment = EnrolmentFactory(worker=worker)
    api(officer).get(f"/api/v1/workers/{worker.id}")

    response = api(operator).get(f"/api/v1/workers/{worker.id}/personal-data")

    assert response.status_code == 200
    body = response.json()
    assert (body["worker"]["nik"], body["worker"]["kk_number"], body["worker"]["heirs"][0]["nik"]) == (
        NIK,
        KK,
        HEIR_NIK,
    )
    assert [e["id"] for e in body["enrolments"]] == [enrolment.id]
    assert body["consent"]["method"] == "signature"
    assert [(e["user"], e["action"], e["object_id"]) for e in body["access_log"]] == [
        (officer.username, "view", worker.id)
    ]
    assert AuditEvent.objects.filter(actor=operator).values_list("action", "object_id", "context").get() == (
        "view",
        worker.id,
        {"personal_data": True, "full_nik": True},
    )
    assert api(officer).get(f"/api/v1/workers/{worker.id}/personal-data").status_code == 403
    elsewhere = make_user(role=Role.VILLAGE_OPERATOR, areas=("17.04.01.2002",))
    assert api(elsewhere).get(f"/api/v1/workers/{worker.id}/personal-data").status_code == 404


def test_access_log_and_audit_access_name_who_touched_whom(api, make_user, admin_user):
    officer = make_user(role=Role.FIELD_OFFICER, username="petugas-a")
    supervisor = make_user(role=Role.SUPERVISOR, areas=("17.04",))
    worker = person()
    other = WorkerFactory()
    client = api(officer)
    client.get(f"/api/v1/workers/{worker.id}")
    client.patch(f"/api/v1/workers/{other.id}", {"birth_place": "Kaur"}, format="json")
    client.get("/api/v1/workers")

    log = api(supervisor).get(f"/api/v1/workers/{worker.id}/access-log").json()["events"]
    listed = AuditEvent.objects.get(actor=officer, action="list", object_id="")
    assert [(e["user"], e["action"], e["object_id"], e["context"]) for e in log] == [
        ("petugas-a", "view", worker.id, {"full_nik": True}),
        ("petugas-a", "list", worker.id, {"of": listed.id}),
    ]
    assert api(officer).get(f"/api/v1/workers/{worker.id}/access-log").status_code == 403

    since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    until = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    response = api(admin_user).get("/api/v1/audit/access", {"user": officer.pk, "since": since, "until": until})
    assert response.status_code == 200
    touched = response.json()
    assert sorted((p["worker"], p["actions"], p["village"]) for p in touched["people"]) == sorted(
        [(worker.id, ["view", "list"], GEDUNG_WANI), (other.id, ["update", "list"], GEDUNG_WANI)]
    )
    assert [(r["action"], r["object_id"], r["context"]["count"]) for r in touched["bulk_reads"]] == [("list", "", 2)]
    assert (
        api(supervisor).get("/api/v1/audit/access", {"user": officer.pk, "since": since, "until": until}).status_code
        == 403
    )


def test_people_seen_in_an_export_or_a_sync_pull_are_in_their_access_log_and_the_breach_list(
    api, make_user, admin_user
):
    operator = make_user(role=Role.VILLAGE_OPERATOR, username="operator-a")
    officer = make_user(role=Role.FIELD_OFFICER, username="petugas-b")
    worker = person()
    EnrolmentFactory(worker=worker)
    other = WorkerFactory()
    elsewhere = WorkerFactory(village_id="17.04.01.2002")

    b"".join(api(operator).get("/api/v1/exports/workers.csv").streaming_content)
    b"".join(api(operator).get("/api/v1/exports/enrolments.csv").streaming_content)
    assert api(officer).get("/api/v1/sync").status_code == 200

    exports = list(AuditEvent.objects.filter(action="export", object_id="").order_by("id"))
    pulled = AuditEvent.objects.get(action="sync_pull", object_type="sync")
    assert [e.context["count"] for e in exports] == [2, 1]
    rows = AuditEvent.objects.filter(object_type="worker").exclude(object_id="").exclude(action="view")
    assert sorted(((r.actor_username, r.action, r.object_id, r.area_code, r.context) for r in rows), key=lambda r: (*r[:4], r[4]["of"])) == sorted([
        ("operator-a", "export", worker.id, GEDUNG_WANI, {"of": exports[0].id}),
        ("operator-a", "export", other.id, GEDUNG_WANI, {"of": exports[0].id}),
        ("operator-a", "export", worker.id, GEDUNG_WANI, {"of": exports[1].id}),
        ("petugas-b", "sync_pull", worker.id, GEDUNG_WANI, {"of": pulled.id}),
        ("petugas-b", "sync_pull", other.id, GEDUNG_WANI, {"of": pulled.id}),
    ], key=lambda r: (*r[:4], r[4]["of"]))  # fmt: skip
    log = api(admin_user).get(f"/api/v1/workers/{worker.id}/access-log").json()["events"]
    assert [(e["user"], e["action"]) for e in log] == [
        ("operator-a", "export"),
        ("operator-a", "export"),
        ("petugas-b", "sync_pull"),
    ]
    assert not AuditEvent.objects.filter(object_id=elsewhere.id).exists()
    since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    until = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    touched = api(admin_user).get("/api/v1/audit/access", {"user": officer.pk, "since": since, "until": until}).json()
    assert sorted((p["worker"], p["actions"]) for p in touched["people"]) == sorted(
        [(worker.id, ["sync_pull"]), (other.id, ["sync_pull"])]
    )
    assert [(r["action"], r["object_type"]) for r in touched["bulk_reads"]] == [("sync_pull", "sync")]


@committed
def test_erasure_is_refused_while_live_then_removes_every_value_and_keeps_the_counts(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    worker = person()
    enrolment = EnrolmentFactory(worker=worker, status="draft")
    client = api(operator)
    request = {"reason": "permintaan subjek data", "request_reference": "SR-2026-001"}

    refused = client.post(f"/api/v1/workers/{worker.id}/erase", request, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "erasure_restricted"
    assert refused.json()["error"]["details"] == {"enrolments": [{"id": enrolment.id, "status": "draft"}]}
    assert Worker.objects.get(pk=worker.pk).nik == NIK

    Enrolment.objects.filter(pk=enrolment.pk).update(status="rejected", status_reason="data tidak lengkap")
    report = client.get("/api/v1/reports/coverage", {"area": GEDUNG_WANI}).json()
    report.pop("generated_at")
    erased = client.post(f"/api/v1/workers/{worker.id}/erase", request, format="json")
    again = client.post(f"/api/v1/workers/{worker.id}/erase", request, format="json")

    assert erased.status_code == again.status_code == 200
    stored = Worker.objects.get(pk=worker.pk)
    assert (stored.nik, stored.kk_number, stored.phone, stored.mother_maiden_name, stored.heirs, stored.full_name) == (
        "",
        "",
        "",
        "",
        [],
        "-",
    )
    assert (stored.village_id, stored.birth_date, stored.sex, stored.occupation_id) == (
        worker.village_id,
        worker.birth_date,
        worker.sex,
        worker.occupation_id,
    )
    assert stored.erased_at is not None
    after = client.get("/api/v1/reports/coverage", {"area": GEDUNG_WANI}).json()
    after.pop("generated_at")
    assert after == report
    shown = client.get(f"/api/v1/workers/{worker.id}").json()
    exported = b"".join(client.get("/api/v1/exports/workers.csv").streaming_content).decode()
    dump = dump_database()
    for value in (NIK, KK, PHONE, HEIR_NIK, "Siti Rahayu", "Fatimah"):
        assert value not in str(shown)
        assert value not in exported
        assert value not in dump
    assert AuditEvent.objects.filter(action="erase").values_list("object_id", "context").get() == (
        worker.id,
        {
            "reason": "permintaan subjek data",
            "request_reference": "SR-2026-001",
            "version": 2,
            "claim_heirs": 0,
            "duplicate_pairs": 0,
            "odk_attachments": 0,
        },
    )
    changed = client.patch(f"/api/v1/workers/{worker.id}", {"full_name": "Siti Rahayu"}, format="json")
    assert changed.json()["error"]["code"] == "processing_restricted"


def claim_of(worker, *, status: str, heirs: list) -> Claim:
    death = DeathReport.objects.create(worker=worker, date_of_death=dt.date(2026, 11, 20), cause="other", place="Rumah")
    return Claim.objects.create(
        death=death, worker=worker, village_id=worker.village_id, program="JKM", covered=True, status=status,
        checklist=[], heirs=heirs, amount_idr=42_000_000, status_changed_at=timezone.now(),
    )  # fmt: skip


@committed
def test_erasure_waits_for_an_open_claim_then_anonymises_the_heirs_of_the_settled_one(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    worker = person()
    heirs = [{"name": "Rahmat", "relationship": "child", "nik": HEIR_NIK, "phone": "+6281288880000"}]
    claim = claim_of(worker, status="filed", heirs=heirs)
    client = api(operator)
    request = {"reason": "permintaan ahli waris", "request_reference": "SR-2026-002"}

    body = client.get(f"/api/v1/workers/{worker.id}/personal-data").json()
    assert [(c["id"], c["status"], c["heirs"]) for c in body["claims"]] == [(claim.id, "filed", heirs)]
    refused = client.post(f"/api/v1/workers/{worker.id}/erase", request, format="json")
    assert (refused.status_code, refused.json()["error"]["details"]) == (
        409,
        {"claims": [{"id": claim.id, "program": "JKM", "status": "filed"}]},
    )
    assert Claim.objects.get(pk=claim.pk).heirs == heirs

    Claim.objects.filter(pk=claim.pk).update(status="paid")
    erased = client.post(f"/api/v1/workers/{worker.id}/erase", request, format="json")
    again = client.post(f"/api/v1/workers/{worker.id}/erase", request, format="json")

    assert erased.status_code == again.status_code == 200
    stored = Claim.objects.get(pk=claim.pk)
    assert (stored.heirs, stored.status, stored.amount_idr, stored.version) == ([], "paid", 42_000_000, 2)
    assert AuditEvent.objects.filter(action="erase").values_list("context", flat=True).get()["claim_heirs"] == 1
    assert AuditEvent.objects.filter(object_type="claim").values_list(
        "action", "object_id", "changes", "context"
    ).get() == (
        "update",
        claim.id,
        {"heirs": ["…", ""]},
        {"erasure": True},
    )
    dump = dump_database()
    assert [v for v in (HEIR_NIK, "+6281288880000", "8128888000") if v in dump] == []


def test_restriction_stops_changes_and_is_audited(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    worker = WorkerFactory()
    client = api(operator)

    response = client.post(f"/api/v1/workers/{worker.id}/restrict", {"reason": "keberatan"}, format="json")

    assert response.status_code == 200
    assert Worker.objects.get(pk=worker.pk).restricted_at is not None
    changed = client.patch(f"/api/v1/workers/{worker.id}", {"birth_place": "Kaur"}, format="json")
    assert (changed.status_code, changed.json()["error"]["code"]) == (409, "processing_restricted")
    bulk = client.post("/api/v1/workers/bulk", {"records": [worker_payload(id=worker.id)]}, format="json")
    assert bulk.json()["results"][0]["error"]["code"] == "processing_restricted"
    assert AuditEvent.objects.filter(action="restrict").values_list("object_id", "context").get() == (
        worker.id,
        {"reason": "keberatan"},
    )


def test_bulk_access_alarm_counts_full_nik_views_and_exports_per_hour(api, make_user, settings, caplog):
    settings.BULK_ACCESS_ALARM_PEOPLE_PER_HOUR = 3
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    workers = [WorkerFactory() for _ in range(3)]
    client = api(operator)
    for worker in workers:
        assert client.get(f"/api/v1/workers/{worker.id}").status_code == 200
    assert not AuditEvent.objects.filter(action="alarm").exists()

    with caplog.at_level("WARNING", logger="workers.permissions"):
        b"".join(client.get("/api/v1/exports/workers.csv").streaming_content)
        b"".join(client.get("/api/v1/exports/workers.csv").streaming_content)

    assert AuditEvent.objects.filter(action="alarm").values_list("object_id", "context").get() == (
        str(operator.pk),
        {"people": 6, "limit": 3, "what": "export"},
    )
    assert [r.getMessage().split(" reached ")[1].split(" people")[0] for r in caplog.records] == ["6"]


def test_the_panel_history_names_the_lists_a_person_was_in(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR, username="operator-c")
    worker = person()
    api(operator).get("/api/v1/workers")

    with translation.override("id"):
        lines = [line.sentence for line in history(user=operator, worker=worker, enrolment_ids=[])]

    assert lines == ["operator-c melihat data ini dalam daftar"]


def test_reading_claims_is_in_the_person_s_access_log(api, make_user, admin_user):
    officer = make_user(role=Role.FIELD_OFFICER, username="petugas-c")
    worker = person()
    claim = claim_of(worker, status="documents_pending", heirs=[{"name": "Rahmat", "relationship": "child"}])
    client = api(officer)

    assert [c["id"] for c in client.get("/api/v1/claims").json()["results"]] == [claim.id]
    assert client.get(f"/api/v1/claims/{claim.id}").status_code == 200

    listed = AuditEvent.objects.get(action="list", object_type="claim")
    assert listed.context == {"count": 1, "filters": {}}
    log = api(admin_user).get(f"/api/v1/workers/{worker.id}/access-log").json()["events"]
    assert [(e["user"], e["action"], e["context"]) for e in log] == [
        ("petugas-c", "list", {"of": listed.id}),
        ("petugas-c", "view", {"claim": claim.id}),
    ]
