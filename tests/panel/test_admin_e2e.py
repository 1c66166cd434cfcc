"""The admin console in a real headless browser against a real server process.

A gunicorn process serves the project on its own database (created here, migrated, Bengkulu's
areas loaded); Debian's Chromium, driven by Playwright, logs in as an admin official, opens the
verification list, verifies one enrolment; the test then reads that database directly.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "konsol-Admin-2026"
SETUP = f"""
from tests.factories import EnrolmentFactory, WorkerFactory
from villages.models import Role, User
User.objects.create_user("konsol", password="{PASSWORD}", role=Role.ADMIN, is_staff=True, full_name="Admin Konsol")
EnrolmentFactory(id="e2e-siti", status="submitted", worker=WorkerFactory(id="e2e-w", full_name="Siti Aminah"))
EnrolmentFactory(id="e2e-budi", status="submitted", worker=WorkerFactory(id="e2e-w2", full_name="Budi Santoso"))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """A migrated database of its own and gunicorn serving the project on it."""
    base = urlparse(os.environ["DATABASE_URL"])
    name = f"{base.path.lstrip('/')}_e2e_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    database_url = urlunparse(base._replace(path=f"/{name}"))
    admin_url = urlunparse(base._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": database_url, "STATIC_ROOT": str(tmp_path / "static")}
    (tmp_path / "static").mkdir()
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "-v0"], ["load_areas", "--province", "17"], ["shell", "-c", SETUP]):
        subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, capture_output=True, timeout=180)  # noqa: S603
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 (our own server, fixed arguments)
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "4", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"gunicorn did not start: {process.stdout.read()[:2000]!r}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", database_url
    finally:
        process.terminate()
        process.wait(timeout=10)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.e2e
def test_admin_logs_in_and_verifies_one_enrolment_in_a_browser(server):
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), "Debian's chromium is needed: scripts/test installs it (apt-get install chromium)"
    base_url, database_url = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(locale="id-ID")
            page.set_default_timeout(20_000)
            page.goto(f"{base_url}/admin/login/?next=/admin/")
            page.fill("#id_username", "konsol")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{base_url}/admin/")

            page.goto(f"{base_url}/admin/enrolment/enrolment/")
            assert page.locator("#result_list").inner_text().count("diajukan") == 2  # submitted, in Indonesian
            assert "Siti Aminah" in page.locator("#result_list").inner_text()
            page.check("input[name=_selected_action][value=e2e-siti]")
            page.select_option("select[name=action]", "verify")
            page.click("button[name=index]")
            page.wait_for_selector(".messagelist .success")
            message = page.locator(".messagelist").inner_text()
            remaining = page.locator("#result_list").inner_text()
        finally:
            browser.close()

    assert "1 diubah, 0 sudah demikian." in message
    assert "Siti Aminah" not in remaining
    assert "Budi Santoso" in remaining
    with psycopg.connect(database_url) as conn:
        statuses = dict(conn.execute("SELECT id, status FROM enrolment_enrolment ORDER BY id").fetchall())
        events = conn.execute(
            "SELECT object_id, actor_username, changes FROM villages_auditevent WHERE action = 'status'"
        ).fetchall()
    assert statuses == {"e2e-budi": "submitted", "e2e-siti": "verified"}
    assert events == [("e2e-siti", "konsol", {"status": ["submitted", "verified"]})]
