"""The panel's budget-year pages (/panel/anggaran/, /panel/klaim/, the death report on a person's
page) through Django's test client: the API's roles and scope, the renewal's dry run and real
run, claim documents and status moves, overdue claims, bad input answered without a 500, each
asserted in the database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from enrolment.funding.models import Claim, DeathReport, Payment, RenewalJob, RenewalRow
from enrolment.funding.renewals.run import renewal_job_run
from enrolment.models import Enrolment, FundingAllocation, Status
from tests.conftest import GEDUNG_WANI, KAUR, OTHER_REGENCY_VILLAGE
from tests.factories import EnrolmentFactory, WorkerFactory
from tests.funding.conftest import copy_participants, make_allocation
from villages.models import AuditEvent, Role

YEAR = 16_800 * 12
HEIRS = [{"name": "Rahmat", "relationship": "child", "nik": "1704010505100001", "phone": ""}]
DOCUMENTS = ["kpj_card", "ktp_deceased", "ktp_heir", "death_certificate", "family_card", "heir_statement",
             "marriage_book", "bank_book"]  # fmt: skip


@pytest.fixture
def viewer(make_user):
    return make_user(role=Role.VIEWER, areas=(KAUR,), username="viewer-kaur")


@pytest.fixture
def stranger(make_user):
    """A supervisor of another regency (Bengkulu Selatan)."""
    return make_user(role=Role.SUPERVISOR, areas=("17.01",), username="supervisor-selatan")


def as_user(client, user):
    client.force_login(user)
    return client


def text_of(response) -> str:
    return " ".join(response.content.decode().split())


# --- Anggaran ------------------------------------------------------------------------------------


def test_budget_page_shows_the_callers_decrees_allocated_against_committed_and_payments(client, supervisor):
    allocation = make_allocation()  # 10 people, Rp 2.016.000, Kaur 2026
    make_allocation(id="sk-selatan", area_id="17.01", decree_number="SK 9/2026")  # another regency's
    EnrolmentFactory(status=Status.VERIFIED, allocation=allocation, coverage_start=dt.date(2026, 1, 1))
    Payment.objects.create(
        reference="TRF-1", request_hash="x", allocation=allocation, period_from=dt.date(2026, 1, 1),
        period_to=dt.date(2026, 3, 1), amount_idr=50_400, paid_at=timezone.now(),
    )  # fmt: skip
    assert FundingAllocation.objects.values_list("committed_workers", "committed_idr").get(id=allocation.id) == (
        1,
        YEAR,
    )

    page = as_user(client, supervisor).get("/panel/anggaran/")

    text = text_of(page)
    assert page.status_code == 200
    assert "SK 100/2026" in text
    assert "SK 9/2026" not in text
    assert "1 / 10" in text
    assert "Rp 201.600 / Rp 2.016.000" in text
    assert "sisa 9 kursi" in text
    assert "sisa Rp 1.814.400" in text
    assert "1 · Rp 50.400" in text  # one payment, its amount
    assert 'href="/panel/anggaran/"' in page.content.decode()  # in the navigation


def test_budget_is_for_supervisors_as_in_the_api_and_other_regencies_are_404(
    client, supervisor, operator, viewer, stranger
):
    make_allocation()
    job = RenewalJob.objects.create(area_id=KAUR, from_budget_year=2025, to_allocation_id="sk-kaur-2026")

    assert as_user(client, viewer).get("/panel/anggaran/").status_code == 403
    assert as_user(client, operator).get("/panel/anggaran/").status_code == 403
    assert 'href="/panel/anggaran/"' not in as_user(client, operator).get("/panel/").content.decode()
    client.force_login(stranger)
    assert client.get(f"/panel/anggaran/perpanjangan/{job.id}/").status_code == 404
    assert client.get(f"/panel/anggaran/perpanjangan/{job.id}/progres/").status_code == 404
    refused = client.post(
        "/panel/anggaran/", {"to_allocation": "sk-kaur-2026", "from_budget_year": "2025", "area": KAUR}
    )
    assert refused.status_code == 404
    assert RenewalJob.objects.count() == 1
    assert "SK 100/2026" not in text_of(client.get("/panel/anggaran/"))


def test_bad_renewal_input_is_a_message_on_the_page_not_a_500(client, supervisor):
    make_allocation()
    client = as_user(client, supervisor)

    wrong_year = client.post("/panel/anggaran/", {"to_allocation": "sk-kaur-2026", "from_budget_year": "dua ribu"})
    earlier = client.post("/panel/anggaran/", {"to_allocation": "sk-kaur-2026", "from_budget_year": "2026"})
    bad_area = client.post(
        "/panel/anggaran/", {"to_allocation": "sk-kaur-2026", "from_budget_year": "2025", "area": "Kaur"}
    )

    assert wrong_year.status_code == 400
    assert "Masukkan tahun seperti 2025." in text_of(wrong_year)
    assert earlier.status_code == 400
    assert "Perpanjang ke SK tahun anggaran berikutnya." in text_of(earlier)
    assert bad_area.status_code == 400
    assert "Masukkan kode wilayah seperti 17.04." in text_of(bad_area)
    assert RenewalJob.objects.count() == 0
    assert client.get("/panel/anggaran/?tahun=abc").status_code == 200
    assert client.get("/panel/anggaran/perpanjangan/bukan-uuid/").status_code == 404
    assert client.get("/panel/anggaran/perpanjangan/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_dry_run_then_real_run_creates_the_enrolments_once(client, supervisor):
    copy_participants(12)  # r00000 … r00011, Gedung Wani, 2025
    make_allocation()  # 10 seats, 10 years' worth of money
    client = as_user(client, supervisor)

    asked = client.post(
        "/panel/anggaran/", {"to_allocation": "sk-kaur-2026", "from_budget_year": "2025", "area": "", "dry_run": "on"}
    )

    job = RenewalJob.objects.get()
    assert asked.status_code == 302
    assert asked["Location"] == f"/panel/anggaran/perpanjangan/{job.id}/"
    assert (job.area_id, job.from_budget_year, job.dry_run, job.status) == (KAUR, 2025, True, "queued")
    waiting = client.get(f"/panel/anggaran/perpanjangan/{job.id}/progres/")
    assert 'hx-trigger="every 1s"' in waiting.content.decode()
    assert "HX-Refresh" not in waiting

    renewal_job_run(job_id=job.id)  # what the task does

    done = client.get(f"/panel/anggaran/perpanjangan/{job.id}/progres/")
    assert done["HX-Refresh"] == "true"
    page = client.get(f"/panel/anggaran/perpanjangan/{job.id}/")
    assert page.status_code == 200
    groups = [(g.outcome, g.reason, g.people, g.cost_idr) for g in page.context["groups"]]
    assert groups == [("carried", "", 10, 10 * YEAR), ("left_out", "over_quota", 2, 2 * YEAR)]
    text = text_of(page)
    assert "Rp 2.016.000" in text
    assert "Rp 403.200" in text
    assert "tidak diperpanjang: melebihi kuota SK" in text
    job.refresh_from_db()
    assert (job.status, job.carried_count, job.left_out_count, job.cost_idr) == ("completed", 10, 2, 10 * YEAR)
    assert Enrolment.objects.filter(budget_year=2026).count() == 0  # a dry run creates nothing
    assert 'id="run-real"' in page.content.decode()

    for attempt in (1, 2):
        real = client.post(
            "/panel/anggaran/", {"to_allocation": "sk-kaur-2026", "from_budget_year": "2025", "area": KAUR}
        )
        real_job = RenewalJob.objects.filter(dry_run=False).order_by("-created_at").first()
        assert real["Location"] == f"/panel/anggaran/perpanjangan/{real_job.id}/"
        renewal_job_run(job_id=real_job.id)
        real_job.refresh_from_db()
        assert (real_job.status, real_job.carried_count, real_job.created_count) == (
            "completed",
            10,
            10 if attempt == 1 else 0,
        )

    renewed = Enrolment.objects.filter(budget_year=2026)
    assert renewed.count() == 10
    assert set(renewed.values_list("status", "allocation_id")) == {("verified", "sk-kaur-2026")}
    assert sorted(renewed.values_list("renewal_of_id", flat=True)) == [f"r{n:05d}" for n in range(10)]
    assert FundingAllocation.objects.values_list("committed_workers", "committed_idr").get() == (10, 10 * YEAR)
    assert RenewalRow.objects.filter(job__dry_run=False, outcome="left_out", reason="over_quota").count() == 4
    filtered = client.get(f"/panel/anggaran/perpanjangan/{real_job.id}/?hasil=left_out&alasan=over_quota")
    assert [r.enrolment_id for r in filtered.context["page"].object_list] == ["r00010", "r00011"]
    assert client.get(f"/panel/anggaran/perpanjangan/{real_job.id}/?alasan=entah").status_code == 200


# --- Klaim ---------------------------------------------------------------------------------------


def covered_participant(worker_id="w-siti", enrolment_id="e-siti", village=GEDUNG_WANI):
    person = WorkerFactory(id=worker_id, full_name="Siti Aminah", heirs=HEIRS, village_id=village)
    return EnrolmentFactory(
        id=enrolment_id, worker=person, status=Status.ACTIVE, registry_number="90000000001",
        coverage_start=dt.date(2026, 1, 1), registry_status="active", paid_through=dt.date(2026, 10, 1),
    )  # fmt: skip


def test_a_death_reported_from_the_person_page_ends_the_enrolment_and_opens_the_claim(client, operator):
    covered_participant()
    client = as_user(client, operator)
    person = client.get("/panel/peserta/w-siti/")
    assert 'href="/panel/peserta/w-siti/meninggal/"' in person.content.decode()

    reported = client.post(
        "/panel/peserta/w-siti/meninggal/",
        {"date_of_death": "2026-11-20", "cause": "other", "place": "Rumah, Gedung Wani", "reported_by_name": "Kades"},
    )

    claim = Claim.objects.get()
    assert reported.status_code == 302
    assert reported["Location"] == f"/panel/klaim/{claim.id}/"
    assert (claim.program, claim.covered, claim.reason, claim.status, claim.amount_idr) == (
        "JKM", True, "", "documents_pending", 42_000_000
    )  # fmt: skip
    assert [i["document"] for i in claim.checklist] == DOCUMENTS
    death = DeathReport.objects.get()
    assert (death.worker_id, death.date_of_death, death.reported_by_id) == (
        "w-siti",
        dt.date(2026, 11, 20),
        operator.id,
    )
    enrolment = Enrolment.objects.get(id="e-siti")
    assert (enrolment.status, enrolment.status_reason) == ("ended", "deceased")
    page = client.get(reported["Location"])
    text = text_of(page)
    assert "Ditanggung pada hari kematian: ahli waris dapat mengajukan JKM, Rp 42.000.000." in text
    assert "1704********0001" in text
    assert "1704010505100001" not in text
    assert "Akta kematian" in text
    assert "Ditanggung pada hari kematian" in text_of(client.get("/panel/peserta/w-siti/"))

    again = client.post(
        "/panel/peserta/w-siti/meninggal/", {"date_of_death": "2026-11-21", "cause": "other", "place": "Rumah"}
    )
    assert again.status_code == 409
    assert "Kematian orang ini sudah dilaporkan" in text_of(again)
    assert (DeathReport.objects.count(), Claim.objects.count()) == (1, 1)


def test_a_death_on_a_day_without_cover_is_answered_in_words(client, operator):
    WorkerFactory(id="w-budi", full_name="Budi Santoso")  # never registered with the registry
    client = as_user(client, operator)

    reported = client.post(
        "/panel/peserta/w-budi/meninggal/", {"date_of_death": "2026-11-02", "cause": "work_accident", "place": "Laut"}
    )

    claim = Claim.objects.get()
    assert (claim.program, claim.covered, claim.reason, claim.status, claim.checklist) == (
        "JKK", False, "not_registered", "refused", []
    )  # fmt: skip
    text = text_of(client.get(reported["Location"]))
    assert (
        "Tidak ditanggung pada hari kematian: belum terdaftar di BPJS Ketenagakerjaan pada hari itu. "
        "Tidak ada klaim yang dapat diajukan ke BPJS Ketenagakerjaan." in text
    )
    assert "Status klaim ini sudah final." in text


def test_bad_death_input_is_a_400_with_the_reason(client, operator):
    WorkerFactory(id="w-budi")
    client = as_user(client, operator)

    future = client.post("/panel/peserta/w-budi/meninggal/", {"date_of_death": "2099-01-01", "cause": "other",
                                                              "place": "Rumah"})  # fmt: skip
    nonsense = client.post("/panel/peserta/w-budi/meninggal/", {"date_of_death": "kemarin", "cause": "sakit"})

    assert future.status_code == 400
    assert "Tanggal kematian tidak boleh di masa depan." in text_of(future)
    assert nonsense.status_code == 400
    assert DeathReport.objects.count() == 0
    assert client.get("/panel/peserta/w-lain/meninggal/").status_code == 404


def test_documents_ticked_and_status_moves_offered_only_where_allowed(client, operator):
    covered_participant()
    client = as_user(client, operator)
    client.post("/panel/peserta/w-siti/meninggal/", {"date_of_death": "2026-11-20", "cause": "other", "place": "Rumah"})
    claim = Claim.objects.get()
    url = f"/panel/klaim/{claim.id}/"
    assert [s for s, _label in client.get(url).context["next_statuses"]] == ["refused"]  # documents missing

    early = client.post(url, {"action": "status", "version": claim.version, "status": "ready"})
    assert early.status_code == 409
    assert Claim.objects.get().status == "documents_pending"

    ticked = client.post(
        url, {"action": "documents", "version": 1, "received": DOCUMENTS[:7], "notes": "KK difotokopi"}
    )
    assert ticked.status_code == 302
    claim.refresh_from_db()
    assert [i["received"] for i in claim.checklist] == [True] * 7 + [False]
    assert (claim.notes, claim.version) == ("KK difotokopi", 2)
    client.post(url, {"action": "documents", "version": 2, "received": DOCUMENTS, "notes": "KK difotokopi"})
    assert [s for s, _label in client.get(url).context["next_statuses"]] == ["ready", "refused"]

    moved = client.post(url, {"action": "status", "version": 3, "status": "ready"})
    assert moved.status_code == 302
    claim.refresh_from_db()
    assert (claim.status, claim.version) == ("ready", 4)
    assert [s for s, _label in client.get(url).context["next_statuses"]] == ["documents_pending", "filed", "refused"]
    skipped = client.post(url, {"action": "status", "version": 4, "status": "paid"})
    stale = client.post(url, {"action": "status", "version": 3, "status": "filed"})
    unknown = client.post(url, {"action": "status", "version": 4, "status": "hilang"})
    garbled = client.post(url, {"action": "status", "version": "empat", "status": "filed"})
    assert (skipped.status_code, stale.status_code, unknown.status_code, garbled.status_code) == (409, 412, 400, 400)
    assert "Status klaim tidak memungkinkan perubahan ini." in text_of(skipped)
    claim.refresh_from_db()
    assert (claim.status, claim.version) == ("ready", 4)
    changes = AuditEvent.objects.filter(object_type="claim", action="update").order_by("id")
    assert [e.changes.get("status") for e in changes] == [None, None, ["documents_pending", "ready"]]


def test_claims_list_filters_and_highlights_overdue_documents(client, operator, settings):
    settings.PANEL_CLAIM_WAITING_DAYS = 14
    covered_participant()
    covered_participant("w-ani", "e-ani")
    WorkerFactory(id="w-budi", full_name="Budi Santoso")
    client = as_user(client, operator)
    for worker in ("w-siti", "w-ani", "w-budi"):
        client.post(f"/panel/peserta/{worker}/meninggal/", {"date_of_death": "2026-11-20", "cause": "other",
                                                             "place": "Rumah"})  # fmt: skip
    old = Claim.objects.get(worker_id="w-siti")
    Claim.objects.filter(id=old.id).update(status_changed_at=timezone.now() - dt.timedelta(days=15))
    Claim.objects.filter(worker_id="w-ani").update(status_changed_at=timezone.now() - dt.timedelta(days=13))

    everything = client.get("/panel/klaim/")
    overdue = client.get("/panel/klaim/?terlambat=on")
    not_covered = client.get("/panel/klaim/?covered=0")
    jkk = client.get("/panel/klaim/?program=JKK")

    assert [r["claim"].worker_id for r in everything.context["rows"]] == ["w-budi", "w-ani", "w-siti"]
    assert [r["claim"].worker_id for r in everything.context["rows"] if r["overdue"]] == ["w-siti"]
    assert f'<tr id="claim-{old.id}" class="overdue">' in everything.content.decode()
    assert [r["claim"].worker_id for r in overdue.context["rows"]] == ["w-siti"]
    assert "terlambat: menunggu 15 hari" in text_of(overdue)
    assert [r["claim"].worker_id for r in not_covered.context["rows"]] == ["w-budi"]
    assert [r["claim"].worker_id for r in jkk.context["rows"]] == []
    home = client.get("/panel/")
    tile = [t for t in home.context["tiles"] if t.url == "panel:claims"]
    assert [(t.count, t.query) for t in tile] == [(1, "?terlambat=on")]
    assert client.get("/panel/klaim/?status=hilang").status_code == 400
    assert client.get("/panel/klaim/?desa=Kaur").status_code == 400
    assert client.get("/panel/klaim/?halaman=abc").status_code == 200
    listed = AuditEvent.objects.filter(object_type="claim", action="list").order_by("id")
    assert [(e.context["count"], e.context["filters"]) for e in listed][:2] == [(3, {}), (1, {"terlambat": "True"})]
    # The people behind the listed claims are named for the access log (issue 13).
    seen = AuditEvent.objects.filter(object_type="worker", action="list", context__of=listed[0].pk)
    assert sorted(seen.values_list("object_id", flat=True)) == ["w-ani", "w-budi", "w-siti"]


def test_claims_are_scoped_and_not_for_viewers(client, operator, viewer, stranger):
    covered_participant()
    as_user(client, operator).post(
        "/panel/peserta/w-siti/meninggal/", {"date_of_death": "2026-11-20", "cause": "other", "place": "Rumah"}
    )
    claim = Claim.objects.get()
    client.force_login(stranger)
    assert client.get(f"/panel/klaim/{claim.id}/").status_code == 404
    assert (
        client.post(f"/panel/klaim/{claim.id}/", {"action": "status", "version": 1, "status": "refused"}).status_code
        == 404
    )
    assert client.get("/panel/klaim/").context["rows"] == []
    assert client.post("/panel/peserta/w-siti/meninggal/", {"date_of_death": "2026-11-20"}).status_code == 404
    client.force_login(viewer)
    assert client.get("/panel/klaim/").status_code == 403
    assert client.get(f"/panel/klaim/{claim.id}/").status_code == 403
    assert Claim.objects.get().status == "documents_pending"
    assert not Claim.objects.filter(village_id=OTHER_REGENCY_VILLAGE).exists()


def test_report_and_home_show_allocated_against_committed(client, supervisor):
    allocation = make_allocation(quota_workers=1, amount_idr=YEAR)
    EnrolmentFactory(status=Status.VERIFIED, allocation=allocation, coverage_start=dt.date(2026, 1, 1))
    client = as_user(client, supervisor)

    report = client.get(f"/panel/laporan/?area={KAUR}&tahun=2026")
    home = client.get("/panel/")

    assert report.context["report"]["total"]["allocated_idr"] == YEAR
    assert report.context["report"]["total"]["committed_idr"] == YEAR
    assert "Dialokasikan SK" in text_of(report)
    tile = [t for t in home.context["tiles"] if t.url == "panel:budget"]
    assert [t.count for t in tile] == [1]  # 1 of 1 seat committed: nearly exhausted


def test_field_officers_see_their_villages_claims_but_not_the_budget_and_english_on_switch(
    client, make_user, supervisor
):
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,), username="petugas-wani")
    neighbour = make_user(role=Role.FIELD_OFFICER, areas=("17.04.01.2002",), username="petugas-tetangga")
    covered_participant()
    as_user(client, officer).post(
        "/panel/peserta/w-siti/meninggal/", {"date_of_death": "2026-11-20", "cause": "other", "place": "Rumah"}
    )
    claim = Claim.objects.get()
    assert claim.death.reported_by_id == officer.id

    assert client.get("/panel/anggaran/").status_code == 403
    assert [r["claim"].id for r in client.get("/panel/klaim/").context["rows"]] == [claim.id]
    english = client.get(f"/panel/klaim/{claim.id}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Covered on the day of death: the heirs can claim JKM, Rp 42.000.000." in text_of(english)
    assert "Participant card (KPJ)" in text_of(english)
    client.force_login(neighbour)
    assert client.get("/panel/klaim/").context["rows"] == []
    assert client.get(f"/panel/klaim/{claim.id}/").status_code == 404
    make_allocation()
    budget = as_user(client, supervisor).get("/panel/anggaran/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Budget: funding decrees and renewals" in text_of(budget)
    assert "10 seats left" in text_of(budget)
