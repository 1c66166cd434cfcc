"""No English left in the Indonesian panel: every page rendered in Indonesian, its visible text
searched for the English of the panel's own messages (an msgid whose translation is missing or
was never marked for translation shows through as English) and for common English UI words."""

import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest

from tests.conftest import GEDUNG_WANI
from tests.factories import EnrolmentFactory, WorkerFactory
from villages.models import Role

LOCALE = Path(__file__).resolve().parents[2] / "locale"
# The panel's own catalogue and those of areas that added pages (panel15: budget and claims;
# dq14a: NIK follow-up; dq14b: duplicates; coord: review fixes).
CATALOGUES = [
    LOCALE / area / "id" / "LC_MESSAGES" / "django.po" for area in ("panel", "panel15", "dq14a", "dq14b", "coord")
]
# Words a hard-coded English label would most likely use, beyond the catalogue's own msgids
# (not "Status", "Program", "Format": Indonesian uses them too).
ENGLISH_WORDS = ["Search", "Submit", "Save", "Cancel", "Delete", "Login", "Logout", "Settings", "Loading",
                 "Upload", "Download", "Yes", "No", "Home", "Page", "Previous", "Next", "Name", "Village",
                 "Date", "Reason", "Verify", "Reject", "Warning", "Participants"]  # fmt: skip


class _Text(HTMLParser):
    """Visible text and the attributes people read (title, placeholder, aria-label, value of buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_phrases() -> list[str]:
    """The catalogue's msgids whose Indonesian differs (an identical one, e.g. "NIK", says nothing)."""
    phrases = set(ENGLISH_WORDS)
    for catalogue in CATALOGUES:
        for entry in polib.pofile(str(catalogue)):
            if entry.msgid != entry.msgstr and "%(" not in entry.msgid and len(entry.msgid) > 2:
                phrases.add(entry.msgid)
    return sorted(phrases, key=len, reverse=True)


def _claim(operator):
    """A covered death's claim (documents pending), reported through the service."""
    import datetime as dt

    from enrolment.funding.deaths import death_report
    from villages.audit import Actor

    worker = WorkerFactory(heirs=[{"name": "Rahmat", "relationship": "anak", "nik": "1704010505100001", "phone": ""}])
    EnrolmentFactory(worker=worker, status="active", registry_number="90000000001", coverage_start=dt.date(2026, 1, 1))
    claim, _created = death_report(
        actor=Actor(user=operator), worker_id=worker.id,
        data={"date_of_death": dt.date(2026, 11, 20), "cause": "other", "place": "Rumah"},
    )  # fmt: skip
    return claim


def _renewal(supervisor):
    """A finished dry run of three participants into a decree of two seats."""
    from enrolment.funding.renewals.jobs import renewal_create
    from enrolment.funding.renewals.run import renewal_job_run
    from tests.funding.conftest import copy_participants, make_allocation
    from villages.audit import Actor

    copy_participants(3)
    make_allocation(quota_workers=2)
    job = renewal_create(actor=Actor(user=supervisor), area="17.04", from_budget_year=2025,
                         to_allocation="sk-kaur-2026", dry_run=True)  # fmt: skip
    return renewal_job_run(job_id=job.id)


@pytest.fixture
def pages(client, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,), username="op-bahasa")
    supervisor = make_user(role=Role.SUPERVISOR, areas=("17.04",), username="sup-bahasa")
    enrolment = EnrolmentFactory(status="submitted", worker=WorkerFactory(full_name="Siti Aminah"))
    WorkerFactory(full_name="Siti Aminah", birth_date=enrolment.worker.birth_date)  # a possible duplicate
    as_operator = ["/panel/", "/panel/verifikasi/", f"/panel/verifikasi/{enrolment.id}/", "/panel/peserta/",
                   f"/panel/peserta/{enrolment.worker_id}/", "/panel/impor/", "/panel/ekspor/", "/panel/laporan/",
                   "/panel/bpjstk/", "/panel/tidak-ada/"]  # fmt: skip
    claim = _claim(operator)
    job = _renewal(supervisor)
    as_operator += ["/panel/klaim/", f"/panel/klaim/{claim.id}/", f"/panel/peserta/{enrolment.worker_id}/meninggal/"]
    as_supervisor = ["/panel/", "/panel/perangkat/", "/panel/target/", "/panel/laporan/?area=17.04.01",
                     "/panel/anggaran/", f"/panel/anggaran/perpanjangan/{job.id}/", "/panel/klaim/?terlambat=on"]  # fmt: skip
    return [(operator, as_operator), (supervisor, as_supervisor)]


def test_indonesian_pages_show_no_english_label(client, pages):
    phrases = english_phrases()
    found = {}
    for user, paths in pages:
        client.force_login(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == (404 if path == "/panel/tidak-ada/" else 200), path
            text = visible_text(response.content.decode())
            english = [p for p in phrases if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text)]
            if english:
                found[path] = english
    assert found == {}


def test_the_login_page_is_indonesian_too(client):
    text = visible_text(client.get("/panel/login/").content.decode())
    assert "Nama pengguna" in text
    assert [p for p in english_phrases() if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text)] == []


def test_the_check_sees_english_when_the_language_is_english(client, pages):
    """The check itself works: the same page in English is caught."""
    user, _paths = pages[0]
    client.force_login(user)
    text = visible_text(client.get("/panel/verifikasi/", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert "Verification" in [p for p in english_phrases() if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text)]
