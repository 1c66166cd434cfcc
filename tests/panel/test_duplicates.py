"""The panel's duplicate review (/panel/duplikat/): the pairs a caller may see (the API's no-leak
rule), one pair side by side, merge field by field with the versions shown, dismiss; asserted in
the database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polib
import pytest

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, VILLAGE_B
from tests.factories import EnrolmentFactory, worker_payload
from villages.models import AuditEvent, Role
from workers.models import DuplicatePair, DuplicateStatus, Worker


@pytest.fixture
def browser(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


@pytest.fixture
def officer(make_user):
    return make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI, VILLAGE_B), username="petugas-dua-desa")


def register(api, officer, prefix: str, second_village: str = GEDUNG_WANI, born: str = "1985-03-07") -> DuplicatePair:
    """The same person twice through the API (the finder stores the pair): the second time with an
    old spelling and a new phone, in `second_village`."""
    common = {"birth_date": born, "kk_number": "1704011234567890"}
    bodies = [
        worker_payload(id=f"{prefix}-first", full_name="Yusuf Hidayat", **common),
        worker_payload(
            id=f"{prefix}-second",
            full_name="H. Joesoef Hidajat",
            phone="081311122233",
            village=second_village,
            **common,
        ),
    ]
    for body in bodies:
        response = api(officer).post("/api/v1/workers/bulk", {"records": [body]}, format="json")
        assert response.json()["summary"]["created"] == 1, response.json()
    return DuplicatePair.objects.get(a_id=f"{prefix}-first", b_id=f"{prefix}-second")


def merge_body(pair: DuplicatePair, **overrides: Any) -> dict[str, Any]:
    body = {"keep": pair.a_id, "version_a": pair.a.version, "version_b": pair.b.version}
    body.update(overrides)
    return body


def test_the_list_holds_only_pairs_whose_two_records_the_caller_sees(api, browser, officer, operator, supervisor):
    here = register(api, officer, "here")
    across = register(api, officer, "across", second_village=VILLAGE_B, born="1979-11-02")

    page = browser(operator).get("/panel/duplikat/")

    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="/panel/duplikat/{here.pk}/"' in html
    assert f"/panel/duplikat/{across.pk}/" not in html
    # The cross-village pair: the operator's own record, and only that something exists elsewhere.
    assert "Kemungkinan ada duplikat di tempat lain" in html
    assert 'href="/panel/peserta/across-first/"' in html
    assert "across-second" not in html
    assert "Nama mirip" in html  # the reasons, in Indonesian
    supervisor_html = browser(supervisor).get("/panel/duplikat/").content.decode()
    assert f'href="/panel/duplikat/{here.pk}/"' in supervisor_html
    assert f'href="/panel/duplikat/{across.pk}/"' in supervisor_html
    assert "Kemungkinan ada duplikat di tempat lain" not in supervisor_html
    listed = AuditEvent.objects.filter(actor=operator, object_type="duplicate_pair", action="list").get()
    assert listed.context["count"] == 1
    # Everyone the page showed is named for the access log: both records of the pair, and the
    # operator's own record paired elsewhere (never the record it does not see).
    seen = AuditEvent.objects.filter(object_type="worker", action="list", context__of=listed.pk)
    assert sorted(seen.values_list("object_id", flat=True)) == ["across-first", "here-first", "here-second"]


def test_a_village_outside_one_record_gets_the_404_page_for_the_pair(api, browser, officer, make_user):
    pair = register(api, officer, "across", second_village=VILLAGE_B)
    village_b = make_user(role=Role.VILLAGE_OPERATOR, areas=(VILLAGE_B,), username="operator-b")
    client = browser(village_b)

    assert client.get(f"/panel/duplikat/{pair.pk}/").status_code == 404
    assert client.post(f"/panel/duplikat/{pair.pk}/gabung/", merge_body(pair)).status_code == 404
    assert client.post(f"/panel/duplikat/{pair.pk}/tolak/", {"reason": "beda orang"}).status_code == 404
    html = client.get("/panel/duplikat/").content.decode()
    assert 'href="/panel/peserta/across-second/"' in html
    assert "across-first" not in html
    assert "Yusuf Hidayat" not in html
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.OPEN
    assert Worker.objects.filter(deleted_at__isnull=True, id__startswith="across-").count() == 2


def test_field_officers_are_refused_and_anonymous_visitors_sent_to_login(api, browser, officer, client):
    pair = register(api, officer, "here")
    assert client.get("/panel/duplikat/").status_code == 302
    client.force_login(officer)
    assert client.get("/panel/duplikat/").status_code == 403
    assert client.post(f"/panel/duplikat/{pair.pk}/gabung/", merge_body(pair)).status_code == 403
    assert DuplicatePair.objects.get(pk=pair.pk).status == DuplicateStatus.OPEN


def test_the_pair_page_shows_both_records_side_by_side_with_score_and_reasons(api, browser, officer, operator):
    pair = register(api, officer, "here")

    page = browser(operator).get(f"/panel/duplikat/{pair.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert f'<dd class="score">{pair.score:.2f}</dd>'.replace(".", ",") in html  # Indonesian decimals
    for word in ("Nama mirip", "Tanggal lahir sama", "Kartu Keluarga (KK) sama", "Desa sama"):
        assert f"<li>{word}</li>" in html
    # Only the differing fields offer a choice; the operator of the village sees full NIKs.
    assert 'name="field_full_name" value="here-second"' in html
    assert 'name="field_phone" value="here-second"' in html
    assert 'name="field_kk_number"' not in html
    assert Worker.objects.get(id="here-second").nik in html
    assert f'name="version_b" value="{pair.b.version}"' in html
    views = AuditEvent.objects.filter(actor=operator, object_type="worker", action="view")
    assert sorted(views.values_list("object_id", flat=True)) == ["here-first", "here-second"]


def test_a_merge_keeps_the_chosen_values_leaves_a_tombstone_and_moves_enrolments(api, browser, officer, operator):
    pair = register(api, officer, "here")
    enrolment = EnrolmentFactory(worker=Worker.objects.get(id="here-second"))

    response = browser(operator).post(
        f"/panel/duplikat/{pair.pk}/gabung/",
        merge_body(pair, field_phone="here-second", field_full_name="here-first", field_nik="here-first"),
    )

    assert response.status_code == 302
    assert response["Location"] == "/panel/peserta/here-first/"
    survivor, loser = Worker.objects.get(id="here-first"), Worker.objects.get(id="here-second")
    assert (survivor.phone, survivor.full_name, survivor.version) == ("+6281311122233", "Yusuf Hidayat", 2)
    assert (loser.merged_into_id, loser.deleted_at is not None, loser.version) == ("here-first", True, 2)
    moved = Enrolment.objects.get(id=enrolment.id)
    assert (moved.worker_id, moved.version) == ("here-first", enrolment.version + 1)
    pair.refresh_from_db()
    assert (pair.status, pair.survivor_id, pair.resolved_by_id) == (DuplicateStatus.MERGED, "here-first", operator.pk)
    events = AuditEvent.objects.filter(actor=operator, object_type="worker").exclude(action="view").order_by("id")
    assert [(e.action, e.object_id) for e in events] == [("delete", "here-second"), ("update", "here-first")]
    assert events[1].changes == {"phone": ["+6281234567890", "+6281311122233"]}
    # The merged pair's page shows the outcome and offers nothing more.
    html = browser(operator).get(f"/panel/duplikat/{pair.pk}/").content.decode()
    assert "Digabung" in html
    assert 'name="keep"' not in html


def test_a_record_changed_since_the_page_was_shown_is_not_merged(api, browser, officer, operator):
    pair = register(api, officer, "here")
    shown = merge_body(pair, field_phone="here-second")
    Worker.objects.filter(id="here-second").update(version=pair.b.version + 1, birth_place="Bintuhan")

    response = browser(operator).post(f"/panel/duplikat/{pair.pk}/gabung/", shown)

    assert response.status_code == 412
    assert "Data sudah diubah orang lain. Muat ulang lalu coba lagi." in response.content.decode()
    assert f'name="version_b" value="{pair.b.version + 1}"' in response.content.decode()
    assert Worker.objects.filter(deleted_at__isnull=True, id__startswith="here-").count() == 2
    assert DuplicatePair.objects.get(pk=pair.pk).status == DuplicateStatus.OPEN
    assert not AuditEvent.objects.filter(actor=operator, action="delete").exists()


def test_dismiss_marks_the_pair_for_good(api, browser, officer, operator):
    pair = register(api, officer, "here")

    response = browser(operator).post(f"/panel/duplikat/{pair.pk}/tolak/", {"reason": "Kembar, dua orang"})

    assert response.status_code == 302
    assert response["Location"] == "/panel/duplikat/"
    pair.refresh_from_db()
    assert (pair.status, pair.resolution_reason, pair.resolved_by_id) == (
        DuplicateStatus.DISMISSED,
        "Kembar, dua orang",
        operator.pk,
    )
    assert Worker.objects.filter(deleted_at__isnull=True, id__startswith="here-").count() == 2
    updates = AuditEvent.objects.filter(actor=operator, action="update", object_type="worker")
    assert sorted(updates.values_list("object_id", flat=True)) == ["here-first", "here-second"]
    assert f"/panel/duplikat/{pair.pk}/" not in browser(operator).get("/panel/duplikat/").content.decode()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("gabung", {"keep": "w-other"}),
        ("gabung", {"field_phone": "w-other"}),
        ("gabung", {"version_a": "dua"}),
        ("gabung", {"version_b": ""}),
        ("tolak", {"reason": ""}),
    ],
)
def test_bad_input_is_a_400_page_and_changes_nothing(api, browser, officer, operator, path, body):
    pair = register(api, officer, "here")
    sent = merge_body(pair, **body) if path == "gabung" else body

    response = browser(operator).post(f"/panel/duplikat/{pair.pk}/{path}/", sent)

    assert response.status_code == 400
    assert '<p class="error" role="alert">' in response.content.decode()
    assert DuplicatePair.objects.get(pk=pair.pk).status == DuplicateStatus.OPEN
    assert Worker.objects.filter(deleted_at__isnull=True, id__startswith="here-").count() == 2
    assert not AuditEvent.objects.filter(actor=operator).exclude(action="view").exists()


def test_a_bad_filter_is_a_400_page(browser, operator):
    assert browser(operator).get("/panel/duplikat/?status=semua").status_code == 400
    assert browser(operator).get("/panel/duplikat/?status=open&area=18").status_code == 404


def test_the_pages_show_no_english_label(api, browser, officer, operator):
    from tests.panel.test_panel_language import english_phrases, visible_text

    pair = register(api, officer, "here")
    register(api, officer, "across", second_village=VILLAGE_B, born="1979-11-02")
    ours = Path(__file__).resolve().parents[2] / "locale" / "dq14b" / "id" / "LC_MESSAGES" / "django.po"
    phrases = {e.msgid for e in polib.pofile(str(ours)) if e.msgid != e.msgstr} | set(english_phrases())
    client = browser(operator)
    for path in ("/panel/duplikat/", f"/panel/duplikat/{pair.pk}/"):
        text = visible_text(client.get(path).content.decode())
        assert [p for p in phrases if re.search(rf"\b{re.escape(p)}\b", text)] == [], path
