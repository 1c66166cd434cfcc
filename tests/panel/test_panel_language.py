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

CATALOGUE = Path(__file__).resolve().parents[2] / "locale" / "panel" / "id" / "LC_MESSAGES" / "django.po"
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
    for entry in polib.pofile(str(CATALOGUE)):
        if entry.msgid != entry.msgstr and "%(" not in entry.msgid and len(entry.msgid) > 2:
            phrases.add(entry.msgid)
    return sorted(phrases, key=len, reverse=True)


@pytest.fixture
def pages(client, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,), username="op-bahasa")
    supervisor = make_user(role=Role.SUPERVISOR, areas=("17.04",), username="sup-bahasa")
    enrolment = EnrolmentFactory(status="submitted", worker=WorkerFactory(full_name="Siti Aminah"))
    WorkerFactory(full_name="Siti Aminah", birth_date=enrolment.worker.birth_date)  # a possible duplicate
    as_operator = ["/panel/", "/panel/verifikasi/", f"/panel/verifikasi/{enrolment.id}/", "/panel/peserta/",
                   f"/panel/peserta/{enrolment.worker_id}/", "/panel/impor/", "/panel/ekspor/", "/panel/laporan/",
                   "/panel/bpjstk/", "/panel/tidak-ada/"]  # fmt: skip
    as_supervisor = ["/panel/", "/panel/perangkat/", "/panel/target/", "/panel/laporan/?area=17.04.01"]
    return [(operator, as_operator), (supervisor, as_supervisor)]


def test_indonesian_pages_show_no_english_label(client, pages):
    phrases = english_phrases()
    found = {}
    for user, paths in pages:
        client.force_login(user)
        for path in paths:
            text = visible_text(client.get(path).content.decode())
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
