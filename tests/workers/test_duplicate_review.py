"""Reviewing likely duplicates through the API: list (no leaks), merge, dismiss."""

from __future__ import annotations

from typing import Any

import pytest

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, KAUR, VILLAGE_B
from tests.factories import EnrolmentFactory, worker_payload
from villages.models import AuditEvent, Role
from workers.models import DuplicatePair, DuplicateStatus, Worker


@pytest.fixture
def officer(make_user):
    return make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,), username="petugas-dq")


@pytest.fixture
def operator(make_user):
    return make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,), username="operator-dq")


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.SUPERVISOR, (KAUR,), username="supervisor-dq")


def person(**overrides: Any) -> dict[str, Any]:
    values = {"full_name": "Yusuf Hidayat", "birth_date": "1985-03-07", "kk_number": "1704011234567890"}
    return worker_payload(**{**values, **overrides})


def register_twice(api, user, second_village: str = GEDUNG_WANI) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same person twice: the second time with an old spelling and a new phone."""
    first = person(id="w-first")
    second = person(id="w-second", full_name="H. Joesoef Hidajat", phone="081311122233", village=second_village)
    for body in (first, second):
        response = api(user).post("/api/v1/workers/bulk", {"records": [body]}, format="json")
        assert response.json()["summary"]["created"] == 1, response.json()
    return first, second


def test_the_pair_is_listed_to_callers_who_see_both(api, operator, supervisor):
    register_twice(api, operator)

    response = api(operator).get("/api/v1/duplicates?status=open")

    assert response.status_code == 200
    (pair,) = response.json()["results"]
    assert (pair["a"]["id"], pair["b"]["id"], pair["status"]) == ("w-first", "w-second", "open")
    assert pair["a"]["nik"] == "1704********" + Worker.objects.get(id="w-first").nik[-4:]
    assert {"similar_name", "same_birth_date", "same_kk", "same_village"} <= set(pair["reasons"])
    assert [p["id"] for p in api(supervisor).get("/api/v1/duplicates").json()["results"]] == [pair["id"]]


def test_a_cross_village_pair_is_only_the_supervisors(api, make_user, supervisor):
    both = make_user(Role.FIELD_OFFICER, (GEDUNG_WANI, VILLAGE_B))
    register_twice(api, both, second_village=VILLAGE_B)
    village_a = make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,))
    village_b = make_user(Role.VILLAGE_OPERATOR, (VILLAGE_B,))
    pair = DuplicatePair.objects.get()

    assert api(village_a).get("/api/v1/duplicates").json()["results"] == []
    assert api(village_b).get("/api/v1/duplicates").json()["results"] == []
    for user in (village_a, village_b):
        assert (
            api(user).post(f"/api/v1/duplicates/{pair.pk}/dismiss", {"reason": "x"}, format="json").status_code == 404
        )
        response = api(user).post(f"/api/v1/duplicates/{pair.pk}/merge", {"keep": "w-first"}, format="json")
        assert response.status_code == 404
    # Each village only learns that a possible duplicate exists (its record's warning).
    assert "possible_duplicate" in api(village_b).get("/api/v1/workers/w-second").json()["warnings"]
    assert [p["id"] for p in api(supervisor).get("/api/v1/duplicates").json()["results"]] == [pair.pk]
    assert DuplicatePair.objects.get().status == DuplicateStatus.OPEN


def test_field_officers_do_not_review(api, officer):
    register_twice(api, officer)
    pair = DuplicatePair.objects.get()
    assert api(officer).get("/api/v1/duplicates").status_code == 403
    assert (
        api(officer).post(f"/api/v1/duplicates/{pair.pk}/merge", {"keep": "w-first"}, format="json").status_code == 403
    )


def pull(client, since=None):
    query = "" if since is None else f"?last_pulled_at={since}"
    response = client.get(f"/api/v1/sync{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_merge_moves_enrolments_leaves_a_tombstone_and_reaches_devices(api, officer, operator):
    register_twice(api, officer)
    enrolment = EnrolmentFactory(worker=Worker.objects.get(id="w-second"))
    device = api(officer)
    since = pull(device)["timestamp"]
    pair = DuplicatePair.objects.get()

    response = api(operator).post(
        f"/api/v1/duplicates/{pair.pk}/merge", {"keep": "w-first", "fields": {"phone": "w-second"}}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["id"] == "w-first"
    survivor, loser = Worker.objects.get(id="w-first"), Worker.objects.get(id="w-second")
    assert (survivor.phone, survivor.version, survivor.full_name) == ("+6281311122233", 2, "Yusuf Hidayat")
    assert (loser.merged_into_id, loser.deleted_at is not None, loser.version) == ("w-first", True, 2)
    assert Enrolment.objects.get(id=enrolment.id).worker_id == "w-first"
    assert Enrolment.objects.get(id=enrolment.id).version == enrolment.version + 1
    pair.refresh_from_db()
    assert (pair.status, pair.survivor_id, pair.resolved_by_id) == (DuplicateStatus.MERGED, "w-first", operator.pk)
    events = AuditEvent.objects.filter(actor=operator, object_type="worker").order_by("id")
    assert [(e.action, e.object_id) for e in events] == [("delete", "w-second"), ("update", "w-first")]
    assert events[1].changes == {"phone": ["+6281234567890", "+6281311122233"]}
    assert events[0].context["merged_into"] == "w-first"
    assert AuditEvent.objects.filter(actor=operator, object_type="enrolment", object_id=enrolment.id).count() == 1
    # WatermelonDB: the tombstone as deleted, the survivor as updated (the device has both).
    changes = pull(device, since)["changes"]
    assert changes["workers"]["deleted"] == ["w-second"]
    assert [w["id"] for w in changes["workers"]["updated"]] == ["w-first"]
    assert changes["workers"]["created"] == []
    # The merged record answers 404 naming the survivor.
    gone = api(officer).get("/api/v1/workers/w-second")
    assert gone.status_code == 404
    assert gone.json()["error"]["details"] == {"merged_into": "w-first"}
    # A merged pair cannot be merged or dismissed again.
    again = api(operator).post(f"/api/v1/duplicates/{pair.pk}/merge", {"keep": "w-first"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_resolved"


def test_merge_refuses_when_both_hold_a_live_enrolment(api, officer, operator):
    register_twice(api, officer)
    EnrolmentFactory(worker=Worker.objects.get(id="w-first"))
    EnrolmentFactory(worker=Worker.objects.get(id="w-second"))
    pair = DuplicatePair.objects.get()

    response = api(operator).post(f"/api/v1/duplicates/{pair.pk}/merge", {"keep": "w-first"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "merge_both_enrolled"
    assert Worker.objects.filter(deleted_at__isnull=True).count() == 2
    assert DuplicatePair.objects.get().status == DuplicateStatus.OPEN
    assert not AuditEvent.objects.filter(actor=operator).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"keep": "w-other"}, "keep"), ({"keep": "w-first", "fields": {"version": "w-second"}}, "fields.version")],
)
def test_merge_names_bad_choices(api, officer, operator, body, field):
    register_twice(api, officer)
    pair = DuplicatePair.objects.get()
    response = api(operator).post(f"/api/v1/duplicates/{pair.pk}/merge", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == [field]
    assert Worker.objects.filter(deleted_at__isnull=True).count() == 2


def test_dismissed_pairs_are_never_flagged_again(api, officer, operator):
    _, second = register_twice(api, officer)
    pair = DuplicatePair.objects.get()

    response = api(operator).post(f"/api/v1/duplicates/{pair.pk}/dismiss", {"reason": "kembar"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"
    # Edited and saved again: the pair is found again but stays dismissed, the warning goes.
    api(officer).post("/api/v1/workers/bulk", {"records": [{**second, "birth_place": "Bintuhan"}]}, format="json")
    pair.refresh_from_db()
    assert (pair.status, pair.resolution_reason, pair.resolved_by_id) == ("dismissed", "kembar", operator.pk)
    assert "possible_duplicate" not in Worker.objects.get(id="w-second").warnings
    assert api(operator).get("/api/v1/duplicates?status=open").json()["results"] == []
    assert api(operator).get("/api/v1/duplicates?status=dismissed").json()["results"][0]["id"] == pair.pk
    assert AuditEvent.objects.filter(actor=operator, action="update", object_type="worker").count() == 2


# --- POST /workers/lookup: "is this person already registered?" ----------------------------------


def test_lookup_shows_a_match_here_with_score_and_reasons(api, officer):
    first = person(id="w-here")
    api(officer).post("/api/v1/workers", first, format="json")

    response = api(officer).post(
        "/api/v1/workers/lookup",
        {"full_name": "Joesoef Hidajat", "birth_date": "1985-03-07", "village": GEDUNG_WANI},
        format="json",
    )

    assert response.status_code == 200
    (match,) = response.json()["matches"]
    assert (match["scope"], match["worker"]["id"], match["worker"]["nik"]) == ("here", "w-here", first["nik"])
    assert {"similar_name", "same_birth_date", "same_village"} <= set(match["reasons"])
    assert match["score"] >= 0.7
    by_nik = api(officer).post("/api/v1/workers/lookup", {"nik": first["nik"]}, format="json").json()["matches"]
    assert [(m["scope"], m["worker"]["id"], m["reasons"]) for m in by_nik] == [("here", "w-here", ["same_nik"])]
    assert AuditEvent.objects.filter(actor=officer, action="list", context__lookup=True).count() == 2


def test_lookup_says_nothing_about_a_match_elsewhere(api, make_user, officer):
    other_village = make_user(Role.FIELD_OFFICER, (VILLAGE_B,))
    elsewhere = person(id="w-elsewhere", village=VILLAGE_B)
    api(other_village).post("/api/v1/workers", elsewhere, format="json")

    by_name = api(officer).post(
        "/api/v1/workers/lookup", {"full_name": "Yusuf Hidayat", "birth_date": "1985-03-07"}, format="json"
    )
    by_nik = api(officer).post("/api/v1/workers/lookup", {"nik": elsewhere["nik"]}, format="json")

    assert by_name.json() == {"matches": [{"scope": "elsewhere"}]}
    assert by_nik.json() == {"matches": [{"scope": "elsewhere"}]}
    assert b"w-elsewhere" not in by_name.content + by_nik.content
    nobody = api(officer).post(
        "/api/v1/workers/lookup", {"full_name": "Rahmat", "birth_date": "1970-01-01"}, format="json"
    )
    assert nobody.json() == {"matches": []}


def test_lookup_needs_a_nik_or_a_name_and_birth_date(api, officer):
    response = api(officer).post("/api/v1/workers/lookup", {"full_name": "Yusuf"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_failed"
