"""Tindak lanjut NIK (/panel/tindak-lanjut-nik/): the people whose NIK needs following up, in the
caller's villages, linked to their pages; in the navigation; Indonesian by default; audited."""

from __future__ import annotations

import re

import pytest

from tests.conftest import GEDUNG_WANI, VILLAGE_B
from tests.factories import WorkerFactory
from villages.models import AuditEvent, Role

pytestmark = pytest.mark.django_db
URL = "/panel/tindak-lanjut-nik/"


@pytest.fixture
def browser(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


@pytest.fixture
def people():
    return {
        "pending": WorkerFactory(id="p-pending", full_name="Siti Aminah", nik="", nik_status="pending"),
        "not_found": WorkerFactory(
            id="p-notfound",
            full_name="Rahmat Saputra",
            nik_status="not_found",
            nik_status_reason="NIK not found at Dukcapil.",
        ),
        "mismatch": WorkerFactory(
            id="p-mismatch", full_name="Nur Halimah", nik_status="mismatch", nik_status_reason="x"
        ),
        "verified": WorkerFactory(id="p-verified", full_name="Budi Santoso", nik_status="verified"),
        "unverified": WorkerFactory(id="p-unverified", full_name="Yusuf Hidayat"),
        "elsewhere": WorkerFactory(
            id="p-elsewhere", full_name="Dewi Lestari", village_id=VILLAGE_B, nik="", nik_status="pending"
        ),
    }


def listed(page) -> list[tuple[str, str]]:
    """(person id, status code) of each row, in order."""
    html = page.content.decode()
    ids = re.findall(r'href="/panel/peserta/([^/"]+)/"', html)
    statuses = re.findall(r'data-status="([a-z_]+)"', html)
    return list(zip(ids, statuses, strict=True))


def test_the_follow_up_list_shows_the_villages_people_to_follow_up(browser, make_user, people):
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,), username="petugas-tl")
    page = browser(officer).get(URL)

    assert page.status_code == 200
    # By village, then name: the three in the officer's village, none of the others.
    assert listed(page) == [("p-mismatch", "mismatch"), ("p-notfound", "not_found"), ("p-pending", "pending")]
    html = page.content.decode()
    assert "Tindak lanjut NIK" in html  # the page's title and its navigation entry, in Indonesian
    assert f'href="{URL}"' in html
    for label in ("belum ada NIK", "tidak ditemukan di Dukcapil", "tidak cocok dengan Dukcapil"):
        assert label in html
    assert "NIK not found at Dukcapil." in html
    assert people["not_found"].nik not in html  # masked on a list
    assert people["not_found"].nik[:4] + "********" + people["not_found"].nik[-4:] in html
    event = AuditEvent.objects.get(action="list", actor_username="petugas-tl", object_id="")
    assert event.context == {"count": 3, "filters": {"nik_status": "pending,not_found,mismatch"}}
    # Each person on the page is named for the access log and audit/access (issue 13).
    seen = AuditEvent.objects.filter(object_type="worker", action="list", context__of=event.pk)
    assert sorted(seen.values_list("object_id", "area_code")) == [
        ("p-mismatch", GEDUNG_WANI),
        ("p-notfound", GEDUNG_WANI),
        ("p-pending", GEDUNG_WANI),
    ]
    # The link leads to the person's page, which says where the NIK stands.
    person = browser(officer).get("/panel/peserta/p-notfound/").content.decode()
    assert '<dd data-nik-status="not_found">tidak ditemukan di Dukcapil (NIK not found at Dukcapil.)</dd>' in person


def test_one_status_and_a_supervisor_sees_every_village(browser, make_user, people):
    supervisor = make_user(role=Role.SUPERVISOR, areas=("17.04",))
    page = browser(supervisor).get(URL, {"status": "pending"})
    assert page.status_code == 200
    assert listed(page) == [("p-pending", "pending"), ("p-elsewhere", "pending")]
    narrowed = browser(supervisor).get(URL, {"status": "pending", "area": VILLAGE_B})
    assert listed(narrowed) == [("p-elsewhere", "pending")]


def test_nothing_to_follow_up_and_a_viewer_may_not_open_it(browser, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,))
    WorkerFactory(nik_status="verified")
    page = browser(operator).get(URL)
    assert (page.status_code, listed(page)) == (200, [])
    assert "Tidak ada yang perlu ditindaklanjuti." in page.content.decode()
    viewer = make_user(role=Role.VIEWER, areas=("17",))
    assert browser(viewer).get(URL).status_code == 403
