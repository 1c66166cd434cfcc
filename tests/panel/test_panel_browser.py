"""The village admin panel in a real browser: Debian's Chromium driven by Playwright (never
`playwright install`) against pytest-django's live server, one browser for the module.

An operator's day (log in, filter the queue, open one enrolment, verify one, reject one with a
reason, import a file with a bad row and download the invalid rows, drill into the report); a
supervisor of one regency gets 404 pages for another regency's person and report; a viewer sees
reports and nothing else; every main page fits 360 px with no horizontal scroll; no page asks
another host for anything. Screenshots of the main pages go to docs/screenshots/.
"""

from __future__ import annotations

import io
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from openpyxl import load_workbook

from enrolment.imports.models import ImportJob
from enrolment.imports.services import import_job_run
from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, KAUR, OTHER_REGENCY_VILLAGE, committed
from tests.factories import PASSWORD, EnrolmentFactory, UserFactory, WorkerFactory, make_nik
from tests.panel.test_imports import BAD_NIK, GOOD_2, csv_file
from villages.models import AuditEvent, Role
from workers.models import Worker

pytestmark = [pytest.mark.e2e, committed]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@contextmanager
def browser(live_server):
    """Chromium with `open_page(username, width=1024)` → a logged-in page; every request it makes
    is recorded. Playwright's sync API runs the test's code in a greenlet with its own context, so
    Django's connection there is not the test's: no ORM call may happen inside this block (the
    tests prepare their rows before it, assert the database after it, and run any service the
    page waits for in a thread of its own)."""
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), "Debian's chromium is needed: scripts/test installs it (apt-get install chromium)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)

        def open_page(username: str, width: int = 1024):
            context = chromium.new_context(
                locale="id-ID", viewport={"width": width, "height": 800}, accept_downloads=True
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.requested = []
            page.on("request", lambda request: page.requested.append(request.url))
            page.goto(f"{live_server.url}/panel/")
            page.fill("#id_username", username)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_load_state()
            return page

        try:
            yield open_page
        finally:
            chromium.close()


def in_thread(function, **kwargs):
    """Runs `function` in a thread of its own (an ordinary Django connection), returns its result."""
    results = []
    worker = threading.Thread(target=lambda: results.append(function(**kwargs)))
    worker.start()
    worker.join(timeout=60)
    return results[0]


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _job_id() -> str:
    return str(ImportJob.objects.get().id)


def test_an_operators_day(live_server, tmp_path):
    UserFactory(username="op-wani", role=Role.VILLAGE_OPERATOR, areas=[GEDUNG_WANI])
    siti = EnrolmentFactory(
        id="e-siti", status="submitted",
        worker=WorkerFactory(id="w-siti", full_name="Siti Aminah", warnings=["possible_duplicate"]),
    )  # fmt: skip
    budi = EnrolmentFactory(
        id="e-budi", status="submitted", worker=WorkerFactory(id="w-budi", full_name="Budi Santoso")
    )
    EnrolmentFactory(id="e-rahmat", status="submitted", worker=WorkerFactory(id="w-rahmat", full_name="Rahmat Hidayat"))
    upload = tmp_path / "warga.csv"
    upload.write_bytes(csv_file([GOOD_2, BAD_NIK]))
    base = live_server.url

    with browser(live_server) as open_page:
        page = open_page("op-wani")
        assert page.url == f"{base}/panel/"
        _shot(page, "beranda")

        page.click("nav >> text=Verifikasi")
        page.select_option("#f-warning", "possible_duplicate")
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**warning=possible_duplicate**")
        listed = page.locator("main table").first.inner_text()
        _shot(page, "verifikasi")

        page.click("text=Siti Aminah")
        page.wait_for_url(f"{base}/panel/verifikasi/e-siti/")
        detail = page.inner_text("main")
        _shot(page, "verifikasi-detail")
        page.click("button[value=verify]")
        page.wait_for_selector(".messages li")
        verified_message = page.inner_text(".messages")

        page.goto(f"{base}/panel/verifikasi/e-budi/")
        page.fill("#reason", "Foto KTP tidak terbaca")
        page.click("button[value=reject]")
        page.wait_for_selector(".messages li")

        page.click("nav >> text=Impor")
        page.set_input_files("#id_file", str(upload))
        page.click("button[type=submit].primary")
        page.wait_for_url("**/panel/impor/*/")
        progress_bars = page.locator("progress").count()
        # The Celery worker's part, in a thread of its own; htmx then reloads the page.
        in_thread(lambda: import_job_run(job_id=_job_id()))
        page.wait_for_selector("#invalid-download", timeout=20_000)
        _shot(page, "impor")
        with page.expect_download() as download_info:
            page.click("#invalid-download")
        invalid = load_workbook(io.BytesIO(Path(download_info.value.path()).read_bytes())).active
        invalid_rows = [list(row) for row in invalid.iter_rows(values_only=True)]

        page.click("nav >> text=Laporan")
        page.wait_for_url(f"{base}/panel/laporan/")
        _shot(page, "laporan")
        report = page.inner_text("main")
        requested = list(page.requested)

    assert "Siti Aminah" in listed
    assert "Budi Santoso" not in listed
    assert "Rp 16.800" in detail
    assert "Sudah diverifikasi." in verified_message
    assert progress_bars == 1
    assert "Gedung Wani" in report
    statuses = dict(Enrolment.objects.values_list("id", "status"))
    assert statuses == {"e-siti": "verified", "e-budi": "rejected", "e-rahmat": "submitted"}
    assert Enrolment.objects.get(pk=budi.pk).status_reason == "Foto KTP tidak terbaca"
    assert list(
        AuditEvent.objects.filter(action="status").order_by("id").values_list("object_id", "actor_username", "changes")
    ) == [
        (siti.id, "op-wani", {"status": ["submitted", "verified"]}),
        (budi.id, "op-wani", {"status": ["submitted", "rejected"]}),
    ]
    assert sorted(Worker.objects.values_list("full_name", flat=True)) == [
        "Budi Santoso", "Darmawan", "Rahmat Hidayat", "Siti Aminah",
    ]  # fmt: skip
    assert [row[:2] for row in invalid_rows] == [["NIK", "Nama Lengkap"], ["1704013202850003", "Salah Tanggal"]]
    assert [url for url in requested if not url.startswith(base)] == []


def test_supervisor_of_one_regency_gets_404_for_another_and_viewer_sees_reports_only(live_server):
    UserFactory(username="sup-kaur", role=Role.SUPERVISOR, areas=[KAUR])
    UserFactory(username="lihat-bkl", role=Role.VIEWER, areas=["17"])
    outside = WorkerFactory(id="w-luar", village_id=OTHER_REGENCY_VILLAGE, nik=make_nik(region="170101"))
    base = live_server.url

    with browser(live_server) as open_page:
        supervisor = open_page("sup-kaur")
        person_status = supervisor.goto(f"{base}/panel/peserta/{outside.id}/").status
        person_text = supervisor.inner_text("main")
        other_report = supervisor.goto(f"{base}/panel/laporan/?area=17.01").status
        own_report = supervisor.goto(f"{base}/panel/laporan/?area=17.04").status

        viewer = open_page("lihat-bkl")
        viewer_landing = viewer.url
        viewer_menu = viewer.locator("nav a").all_inner_texts()
        viewer_statuses = {path: viewer.goto(f"{base}{path}").status
                           for path in ("/panel/verifikasi/", "/panel/peserta/", "/panel/impor/")}  # fmt: skip

    assert (person_status, other_report, own_report) == (404, 404, 200)
    assert "Halaman tidak ditemukan" in person_text
    assert viewer_landing == f"{base}/panel/laporan/"
    assert viewer_menu == ["Laporan"]
    assert viewer_statuses == {"/panel/verifikasi/": 403, "/panel/peserta/": 403, "/panel/impor/": 403}


def test_pages_fit_360_px_and_reference_no_other_host(live_server):
    UserFactory(username="op-hp", role=Role.VILLAGE_OPERATOR, areas=[GEDUNG_WANI])
    enrolment = EnrolmentFactory(
        id="e-hp", status="submitted", worker=WorkerFactory(id="w-hp", full_name="Siti Aminah")
    )
    base = live_server.url
    paths = ["/panel/", "/panel/verifikasi/", f"/panel/verifikasi/{enrolment.id}/", "/panel/peserta/",
             f"/panel/peserta/{enrolment.worker_id}/", "/panel/impor/", "/panel/ekspor/", "/panel/laporan/"]  # fmt: skip
    widths = {}
    with browser(live_server) as open_page:
        page = open_page("op-hp", width=360)
        for path in paths:
            page.goto(f"{base}{path}")
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
        _shot(page, "peserta-360px")
        requested = list(page.requested)

    assert {path: width for path, width in widths.items() if width > 360} == {}
    assert [url for url in requested if not url.startswith(base)] == []


def test_a_supervisors_budget_and_claims(live_server):
    """Anggaran: a renewal's dry run followed live until htmx reloads the page with the numbers;
    Klaim: an overdue claim highlighted, its page; both fit 360 px."""
    import datetime as dt

    from django.utils import timezone

    from enrolment.funding.deaths import death_report
    from enrolment.funding.models import Claim, RenewalJob
    from enrolment.funding.renewals.run import renewal_job_run
    from tests.funding.conftest import copy_participants, make_allocation
    from villages.audit import Actor

    supervisor = UserFactory(username="sup-anggaran", role=Role.SUPERVISOR, areas=[KAUR])
    copy_participants(12)
    make_allocation()  # 10 seats
    heirs = [{"name": "Rahmat", "relationship": "anak", "nik": "1704010505100001", "phone": ""}]
    worker = WorkerFactory(id="w-almh", full_name="Siti Aminah", heirs=heirs)
    EnrolmentFactory(worker=worker, status="active", registry_number="90000000001", coverage_start=dt.date(2026, 1, 1))
    claim, _created = death_report(
        actor=Actor(user=supervisor), worker_id=worker.id,
        data={"date_of_death": dt.date(2026, 11, 2), "cause": "other", "place": "Rumah"},
    )  # fmt: skip
    Claim.objects.filter(id=claim.id).update(status_changed_at=timezone.now() - dt.timedelta(days=20))
    base = live_server.url

    with browser(live_server) as open_page:
        page = open_page("sup-anggaran")
        page.click("nav >> text=Anggaran")
        page.wait_for_url(f"{base}/panel/anggaran/")
        page.fill("#id_from_budget_year", "2025")
        page.check("#id_dry_run")
        _shot(page, "anggaran")
        page.click("#renew button[type=submit]")
        page.wait_for_url("**/panel/anggaran/perpanjangan/*/")
        progress_bars = page.locator("progress").count()
        in_thread(lambda: renewal_job_run(job_id=RenewalJob.objects.get().id))
        page.wait_for_selector("#groups", timeout=20_000)  # htmx saw the job finish and reloaded
        _shot(page, "perpanjangan")
        renewal_text = page.inner_text("main")

        page.click("nav >> text=Klaim")
        page.wait_for_url(f"{base}/panel/klaim/")
        overdue_rows = page.locator("tr.overdue").count()
        _shot(page, "klaim")
        page.click("text=Siti Aminah")
        page.wait_for_url(f"{base}/panel/klaim/{claim.id}/")
        claim_text = page.inner_text("main")

        phone = open_page("sup-anggaran", width=360)
        widths = {}
        for path in ("/panel/anggaran/", "/panel/klaim/", f"/panel/klaim/{claim.id}/"):
            phone.goto(f"{base}{path}")
            widths[path] = phone.evaluate("document.documentElement.scrollWidth")
        _shot(phone, "klaim-360px")
        requested = list(page.requested) + list(phone.requested)

    assert progress_bars == 1
    assert "Rp 2.016.000" in renewal_text
    assert "melebihi kuota SK" in renewal_text
    assert overdue_rows == 1
    assert "Rp 42.000.000" in claim_text
    assert "1704********0001" in claim_text
    assert {path: width for path, width in widths.items() if width > 360} == {}
    assert [url for url in requested if not url.startswith(base)] == []
    job = RenewalJob.objects.get()
    assert (job.status, job.dry_run, job.carried_count, job.left_out_count) == ("completed", True, 10, 2)
