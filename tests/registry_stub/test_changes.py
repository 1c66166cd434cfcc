"""The status-change feed: injected through the control API, paged by cursor, stable."""

from __future__ import annotations

import pytest

from tests.registry_stub.helpers import batch, held, numbers_of, record, submit


@pytest.fixture
def numbers(registry) -> list[str]:
    """Three registered participants: enrolment-1..3."""
    return numbers_of(submit(registry, batch("batch-1", [record(1), record(2), record(3)])))


def test_the_feed_pages_in_order_and_a_page_fetched_twice_is_the_same(registry, control, numbers):
    injected = [
        {"ref": "enrolment-1", "status": "inactive", "effective_date": "2026-12-01", "reason": "contribution unpaid"},
        {"participant_number": numbers[1], "status": "deceased", "effective_date": "2026-12-02", "reason": "JKM claim"},
        {"ref": "enrolment-3", "status": "ended", "effective_date": "2026-12-03", "reason": "moved away"},
        {"ref": "enrolment-1", "status": "active", "effective_date": "2026-12-04", "reason": "contribution paid"},
        {"participant_number": numbers[2], "status": "active", "effective_date": "2026-12-05", "reason": ""},
    ]
    appended = control.post("/changes", json={"changes": injected})

    first = registry.get("/v1/participants/changes", params={"limit": 2})
    first_again = registry.get("/v1/participants/changes", params={"limit": 2})
    second = registry.get("/v1/participants/changes", params={"since": first.json()["next_cursor"], "limit": 2})
    third = registry.get("/v1/participants/changes", params={"since": second.json()["next_cursor"], "limit": 2})
    after_end = registry.get("/v1/participants/changes", params={"since": third.json()["next_cursor"], "limit": 2})

    assert appended.status_code == 201
    expected = [
        {
            "participant_number": numbers[n],
            "ref": f"enrolment-{n + 1}",
            "status": change["status"],
            "effective_date": change["effective_date"],
            "reason": change["reason"],
        }
        for n, change in zip((0, 1, 2, 0, 2), injected, strict=True)
    ]
    assert [{k: v for k, v in c.items() if k != "cursor"} for c in appended.json()["changes"]] == expected
    assert first_again.content == first.content
    assert [page.json()["has_more"] for page in (first, second, third)] == [True, True, False]
    pages = [page.json()["changes"] for page in (first, second, third)]
    assert pages[0] + pages[1] + pages[2] == expected
    assert [len(page) for page in pages] == [2, 2, 1]
    assert after_end.json() == {"changes": [], "next_cursor": third.json()["next_cursor"], "has_more": False}
    assert [row["status"] for row in held(control)] == ["active", "deceased", "active"]


def test_changes_appended_later_appear_after_the_stored_cursor(registry, control, numbers):
    control.post("/changes", json={"ref": "enrolment-1", "status": "inactive", "effective_date": "2026-12-01"})
    page = registry.get("/v1/participants/changes").json()

    control.post("/changes", json=[{"ref": "enrolment-2", "status": "ended", "effective_date": "2026-12-02"}])
    later = registry.get("/v1/participants/changes", params={"since": page["next_cursor"]}).json()

    assert [change["ref"] for change in page["changes"]] == ["enrolment-1"]
    assert later["changes"] == [
        {
            "participant_number": numbers[1],
            "ref": "enrolment-2",
            "status": "ended",
            "effective_date": "2026-12-02",
            "reason": "",
        }
    ]
    assert later["has_more"] is False


def test_the_feed_is_empty_before_any_change(registry):
    response = registry.get("/v1/participants/changes")

    assert response.json() == {"changes": [], "next_cursor": "0", "has_more": False}


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        (
            [{"ref": "enrolment-1", "status": "inactive"}, {"ref": "nobody", "status": "ended"}],
            404,
            "participant_not_found",
        ),
        (
            [{"ref": "enrolment-1", "status": "inactive"}, {"ref": "enrolment-2", "status": "gone"}],
            400,
            "invalid_change",
        ),
        ([{"status": "ended"}], 400, "invalid_change"),
        ([{"ref": "enrolment-1", "status": "ended", "effective_date": "tomorrow"}], 400, "invalid_change"),
    ],
)
def test_an_invalid_change_is_refused_and_appends_nothing(registry, control, numbers, changes, status, code):
    response = control.post("/changes", json=changes)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert registry.get("/v1/participants/changes").json()["changes"] == []
    assert [row["status"] for row in held(control)] == ["active", "active", "active"]


@pytest.mark.parametrize(
    ("params", "code"),
    [({"since": "abc"}, "invalid_cursor"), ({"limit": "0"}, "invalid_limit"), ({"limit": "1001"}, "invalid_limit")],
)
def test_a_bad_cursor_or_limit_is_400(registry, params, code):
    response = registry.get("/v1/participants/changes", params=params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_a_repeat_fault_serves_the_same_page_again_without_moving_the_cursor(registry, control, numbers):
    control.post("/changes", json={"ref": "enrolment-2", "status": "deceased", "effective_date": "2026-12-02"})
    control.patch("/faults", json={"changes_repeat": 1})

    first = registry.get("/v1/participants/changes").json()
    again = registry.get("/v1/participants/changes", params={"since": first["next_cursor"]}).json()
    control.patch("/faults", json={"changes_repeat": 0})
    moved = registry.get("/v1/participants/changes", params={"since": again["next_cursor"]}).json()
    past = registry.get("/v1/participants/changes", params={"since": moved["next_cursor"]}).json()

    change = {
        "participant_number": numbers[1],
        "ref": "enrolment-2",
        "status": "deceased",
        "effective_date": "2026-12-02",
        "reason": "",
    }
    assert first == {"changes": [change], "next_cursor": "0", "has_more": True}
    assert again == first
    assert moved["changes"] == [change]
    assert moved["has_more"] is False
    assert moved["next_cursor"] != "0"
    assert past == {"changes": [], "next_cursor": moved["next_cursor"], "has_more": False}
    assert control.get("/stats").json()["faults"]["changes_repeat"] == 2


def test_a_repeat_fault_leaves_an_empty_page_alone(registry, control, numbers):
    control.patch("/faults", json={"changes_repeat": 1})

    page = registry.get("/v1/participants/changes", params={"since": "7"}).json()

    assert page == {"changes": [], "next_cursor": "7", "has_more": False}
    assert control.get("/stats").json()["faults"]["changes_repeat"] == 0


def test_a_5xx_fault_on_the_feed_answers_503_and_reads_nothing(registry, control, numbers):
    control.post("/changes", json={"ref": "enrolment-1", "status": "inactive", "effective_date": "2026-12-01"})
    control.patch("/faults", json={"changes_error_5xx": 1})

    failed = registry.get("/v1/participants/changes")
    control.patch("/faults", json={"changes_error_5xx": 0})
    page = registry.get("/v1/participants/changes")

    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "registry_unavailable"
    assert [change["ref"] for change in page.json()["changes"]] == ["enrolment-1"]
    stats = control.get("/stats").json()
    assert stats["faults"]["changes_error_5xx"] == 1
    assert stats["requests"]["GET /v1/participants/changes"] == {"503": 1, "200": 1}


def test_feed_faults_are_drawn_from_the_seeded_sequence(registry, control, numbers):
    control.post("/changes", json={"ref": "enrolment-1", "status": "inactive", "effective_date": "2026-12-01"})

    def statuses() -> list[int]:
        control.post("/reset", json={})
        control.put("/faults", json={"changes_error_5xx": 0.5, "seed": 11})
        return [registry.get("/v1/participants/changes").status_code for _ in range(12)]

    first, second = statuses(), statuses()

    assert first == second
    assert set(first) == {200, 503}
