"""The village admin panel (/panel/) through Django's test client: login and its throttling, the
pages each role may open, scope as a 404 page, decisions and corrections, asserted in the database."""

import datetime as dt

import pytest

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, KAUR, OTHER_REGENCY_VILLAGE, VILLAGE_B
from tests.factories import PASSWORD, EnrolmentFactory, WorkerFactory, make_nik
from villages.models import AuditEvent, Role


@pytest.fixture
def browser(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


def submitted(name="Budi Santoso", **worker_fields):
    return EnrolmentFactory(status="submitted", worker=WorkerFactory(full_name=name, **worker_fields))


def test_login_page_logs_in_with_the_api_accounts_and_expires_the_session(client, operator, settings):
    page = client.get("/panel/")
    assert page.status_code == 302
    assert page["Location"] == "/panel/login/?next=/panel/"

    response = client.post(
        "/panel/login/", {"username": operator.username, "password": PASSWORD, "next": "/panel/verifikasi/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/panel/verifikasi/"
    assert client.session.get_expiry_age() == settings.PANEL_SESSION_SECONDS
    assert client.get("/panel/").status_code == 200
    assert client.post("/panel/logout/").status_code == 302
    assert client.get("/panel/")["Location"].startswith("/panel/login/")


def test_login_refuses_a_foreign_next_url(client, operator):
    response = client.post(
        "/panel/login/", {"username": operator.username, "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/panel/"


def test_login_is_throttled_like_the_api_and_csrf_protected(operator, settings):
    from django.test import Client

    settings.LOGIN_FAILURES_PER_USERNAME = 2
    client = Client()
    for _ in range(2):
        wrong = client.post("/panel/login/", {"username": operator.username, "password": "salah"})
        assert wrong.status_code == 400
        assert "Nama pengguna atau kata sandi salah." in wrong.content.decode()
    refused = client.post("/panel/login/", {"username": operator.username, "password": PASSWORD})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/panel/login/", {"username": "x", "password": "y"}).status_code == 403


def test_queue_filters_and_bulk_decisions_give_a_result_per_record(browser, operator):
    siti = submitted("Siti Aminah", warnings=["possible_duplicate"])
    budi = submitted("Budi Santoso")
    elsewhere = submitted("Orang Lain", village_id=VILLAGE_B)
    client = browser(operator)

    page = client.get("/panel/verifikasi/", {"warning": "possible_duplicate"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Siti Aminah" in text
    assert "Budi Santoso" not in text
    assert "Orang Lain" not in text

    response = client.post(
        "/panel/verifikasi/keputusan/", {"ids": [siti.id, budi.id, elsewhere.id], "action": "verify", "reason": ""}
    )
    text = response.content.decode()

    assert response.status_code == 200
    assert text.count('class="updated"') == 2
    assert text.count('class="invalid"') == 1
    statuses = dict(Enrolment.objects.values_list("id", "status"))
    assert statuses == {siti.id: "verified", budi.id: "verified", elsewhere.id: "submitted"}
    assert AuditEvent.objects.filter(action="status").count() == 2


def test_enrolment_page_compares_the_nik_and_rejects_with_a_reason(browser, operator):
    born = dt.date(1990, 3, 4)
    enrolment = submitted(
        "Siti Aminah", nik=make_nik(dt.date(1991, 3, 4), "F"), birth_date=born, sex="M",
        warnings=["nik_birth_date_mismatch", "nik_sex_mismatch"],
    )  # fmt: skip
    twin = WorkerFactory(full_name="Siti Aminah", birth_date=born)
    client = browser(operator)

    page = client.get(f"/panel/verifikasi/{enrolment.id}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Rp 16.800" in text
    assert "4 Maret 1991" in text
    assert "4 Maret 1990" in text
    assert "perempuan" in text
    assert "laki-laki" in text
    assert "Kinal" in text  # the district the NIK was issued in
    assert twin.id in text  # the possible duplicate, side by side
    assert enrolment.worker.nik in text  # an operator of the village sees the full NIK

    no_reason = client.post(f"/panel/verifikasi/{enrolment.id}/", {"action": "reject", "reason": "", "version": 1})
    assert no_reason.status_code == 302
    assert Enrolment.objects.get(pk=enrolment.pk).status == "submitted"

    client.post(f"/panel/verifikasi/{enrolment.id}/", {"action": "reject", "reason": "NIK salah", "version": 1})
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.status_reason, enrolment.version) == ("rejected", "NIK salah", 2)


def test_a_stale_version_changes_nothing(browser, operator):
    enrolment = submitted()
    client = browser(operator)
    response = client.post(
        f"/panel/verifikasi/{enrolment.id}/", {"action": "verify", "reason": "", "version": 7}, follow=True
    )
    assert Enrolment.objects.get(pk=enrolment.pk).status == "submitted"
    assert "messages" in response.content.decode()


@pytest.mark.parametrize("version", ["", "satu", "1.0"])
def test_a_decision_without_a_readable_version_is_refused_not_forced(browser, operator, version):
    enrolment = submitted()
    response = browser(operator).post(
        f"/panel/verifikasi/{enrolment.id}/", {"action": "verify", "reason": "", "version": version}
    )

    assert response.status_code == 400
    assert "Halaman tidak menyebut versi yang ditampilkannya" in response.content.decode()
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.version) == ("submitted", 1)


def test_person_page_shows_history_and_an_operator_corrects_with_the_version(browser, operator):
    enrolment = submitted("Siti Aminah")
    worker = enrolment.worker
    client = browser(operator)

    response = client.post(
        f"/panel/peserta/{worker.id}/",
        {
            "version": worker.version, "full_name": "Siti Aminah Putri", "birth_date": worker.birth_date.isoformat(),
            "sex": worker.sex, "phone": "081234567899", "street": "Jl. Baru", "dusun": "Dusun II", "rt": "003",
            "rw": "004", "occupation": "petani", "monthly_income": 1200000,
        },
    )  # fmt: skip
    assert response.status_code == 302
    worker.refresh_from_db()
    assert (worker.full_name, worker.address_street, worker.occupation_id, worker.version) == (
        "Siti Aminah Putri", "Jl. Baru", "petani", 2,
    )  # fmt: skip

    stale = client.post(f"/panel/peserta/{worker.id}/", {"version": 1, "full_name": "X", "birth_date": "1990-01-01",
                                                          "sex": "M", "occupation": "petani"})  # fmt: skip
    assert stale.status_code == 200
    worker.refresh_from_db()
    assert worker.full_name == "Siti Aminah Putri"

    page = client.get(f"/panel/peserta/{worker.id}/").content.decode()
    assert f"{operator.username} mengubah" in page
    assert "Siti Aminah Putri" in page
    assert f"Jl. Baru, Dusun Dusun II, RT 003/RW 004, {worker.village.name}" in page
    assert f"<dd>1 November 2026 (tanda tangan, {worker.consent_recorded_by})</dd>" in page


def test_search_finds_people_by_name_and_nik(browser, operator):
    siti = WorkerFactory(full_name="Siti Aminah")
    WorkerFactory(full_name="Budi Santoso")
    client = browser(operator)
    by_name = client.get("/panel/peserta/", {"q": "aminah"}).content.decode()
    by_nik = client.get("/panel/peserta/", {"q": siti.nik}).content.decode()
    assert "Siti Aminah" in by_name
    assert "Budi Santoso" not in by_name
    assert "Siti Aminah" in by_nik
    assert "Budi Santoso" not in by_nik
    assert siti.nik not in by_name  # lists mask the NIK


def test_supervisor_of_one_regency_gets_404_pages_outside_it(browser, supervisor):
    outside = WorkerFactory(village_id=OTHER_REGENCY_VILLAGE)
    client = browser(supervisor)
    person = client.get(f"/panel/peserta/{outside.id}/")
    report = client.get("/panel/laporan/", {"area": "17.01"})
    assert person.status_code == 404
    assert report.status_code == 404
    assert "Halaman tidak ditemukan" in person.content.decode()
    assert client.get("/panel/tidak-ada/").status_code == 404


def test_viewer_sees_reports_and_nothing_else(browser, make_user):
    viewer = make_user(role=Role.VIEWER, areas=("17",), username="viewer-bkl")
    client = browser(viewer)
    assert client.get("/panel/")["Location"] == "/panel/laporan/"
    assert client.get("/panel/laporan/").status_code == 200
    for path in ("/panel/verifikasi/", "/panel/peserta/", "/panel/bpjstk/", "/panel/perangkat/"):
        assert client.get(path).status_code == 403, path


def test_report_drills_down_and_downloads_xlsx(browser, supervisor):
    EnrolmentFactory(status="active")
    client = browser(supervisor)
    regency = client.get("/panel/laporan/").content.decode()
    assert "?area=17.04.01&amp;tahun=" in regency  # a district row links one level down
    district = client.get("/panel/laporan/", {"area": "17.04.01"}).content.decode()
    assert "Gedung Wani" in district
    download = client.get("/panel/laporan/unduh.xlsx", {"area": KAUR})
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")


def test_home_shows_the_area_at_a_glance(browser, operator):
    submitted()
    WorkerFactory(needs_correction=True, village_id=GEDUNG_WANI)
    page = browser(operator).get("/panel/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Menunggu verifikasi" in text
    assert "<svg" in text


def test_import_reports_each_row_and_gives_the_invalid_rows_back_as_a_spreadsheet(browser, operator):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import load_workbook

    from enrolment.imports.models import ImportJob
    from enrolment.imports.services import import_job_run
    from tests.panel.test_imports import BAD_NIK, GOOD_2, csv_file
    from workers.models import Worker

    client = browser(operator)
    upload = client.post("/panel/impor/", {"file": SimpleUploadedFile("warga.csv", csv_file([GOOD_2, BAD_NIK]))})
    job = ImportJob.objects.get()
    assert upload["Location"] == f"/panel/impor/{job.id}/"
    running = client.get(f"/panel/impor/{job.id}/").content.decode()
    assert 'hx-trigger="every 1s"' in running  # the live progress bar polls until done

    import_job_run(job_id=job.id)  # as the Celery worker would
    progress = client.get(f"/panel/impor/{job.id}/progres/")
    assert progress["HX-Refresh"] == "true"
    report = client.get(f"/panel/impor/{job.id}/").content.decode()
    assert "Darmawan" in report
    assert "Salah Tanggal" in report

    download = client.get(f"/panel/impor/{job.id}/tidak-valid.xlsx")
    sheet = load_workbook(io.BytesIO(download.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(rows) == 2
    assert rows[1][:2] == ["1704013202850003", "Salah Tanggal"]
    assert rows[1][-1]  # the reason
    assert sorted(Worker.objects.values_list("full_name", flat=True)) == ["Darmawan"]
    template = client.get("/panel/impor/template.xlsx")
    assert template.status_code == 200


def test_invalid_rows_spreadsheets_are_deleted_after_the_retention(operator, settings, tmp_path):
    import datetime as dt

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from enrolment.imports.invalid_rows import invalid_rows_prune
    from enrolment.imports.models import ImportJob

    settings.MEDIA_ROOT = str(tmp_path)
    old, recent = (
        ImportJob.objects.create(created_by=operator, filename=f"{n}.csv", file_format="csv", file_sha256=n,
                                 status="completed", finished_at=timezone.now() - dt.timedelta(hours=hours))
        for n, hours in (("old", 80), ("recent", 1))
    )  # fmt: skip
    for job in (old, recent):
        job.invalid_rows_file.save(f"{job.id}.xlsx", ContentFile(b"x"))

    assert invalid_rows_prune() == 1
    assert invalid_rows_prune() == 0
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (bool(old.invalid_rows_file), bool(recent.invalid_rows_file)) == (False, True)
    assert sorted(p.name for p in (tmp_path / "imports" / "invalid").iterdir()) == [f"{recent.id}.xlsx"]


def test_supervisor_sets_a_target_inside_its_regency_only(browser, supervisor):
    from villages.models import AreaTarget

    client = browser(supervisor)
    page = client.get("/panel/target/", {"tahun": 2027}).content.decode()
    assert "Kinal" in page
    client.post("/panel/target/", {"area": "17.04.01", "year": 2027, "target_workers": 1200, "budget_idr": 241920000})
    outside = client.post("/panel/target/", {"area": "17.01", "year": 2027, "target_workers": 1, "budget_idr": 1})
    assert outside.status_code == 404
    assert list(AreaTarget.objects.filter(year=2027).values_list("area_id", "target_workers", "budget_idr")) == [
        ("17.04.01", 1200, 241_920_000)
    ]
