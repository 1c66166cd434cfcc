"""The control API's reads and reset, and state kept across an in-process restart."""

from __future__ import annotations

import httpx

from registry_stub.server import start_in_thread
from tests.registry_stub.helpers import API_KEY, AUTH, PARTNER_ID, batch, held, nik, numbers_of, record, submit


def test_stats_count_what_the_registry_received(registry, control):
    submit(registry, batch("batch-1", [record(1), record(2)]))
    submit(registry, batch("batch-1", [record(1), record(2)]))
    submit(registry, batch("batch-2", [record(2), record(3, nik="123")]))
    submit(registry, batch("batch-2", [record(4)]))
    registry.get("/v1/batches/batch-1")
    registry.get("/v1/participants/changes")

    assert control.get("/stats").json() == {
        "requests": {
            "POST /v1/batches": {"200": 3, "409": 1},
            "GET /v1/batches/{batch_id}": {"200": 1},
            "GET /v1/participants/changes": {"200": 1},
        },
        "faults": {
            "error_5xx": 0,
            "rate_limit_429": 0,
            "timeout": 0,
            "drop_after_process": 0,
            "slow": 0,
            "async_202": 0,
            "changes_error_5xx": 0,
            "changes_repeat": 0,
        },
        "batches": {"processed": 2, "replayed": 1, "conflicts": 1},
        "records": {"accepted": 2, "duplicate": 1, "rejected": 1},
        "participations": 2,
        "duplicates_answered": 1,
        "changes": 0,
        "renewals": 0,
        "payments": 0,
        "events": {"processed": 0, "replayed": 0, "conflicts": 0},
        "events_per_participant": {},
        "registrations_per_ref": {"enrolment-1": 1, "enrolment-2": 1},
        "refs_registered_more_than_once": [],
    }


def test_participants_can_be_looked_up_by_ref_nik_number_or_batch(registry, control):
    submit(registry, batch("batch-1", [record(1), record(2)]))
    numbers = numbers_of(submit(registry, batch("batch-2", [record(3)])))

    by_ref = control.get("/participants", params={"ref": "enrolment-2"}).json()
    by_nik = control.get("/participants", params={"nik": nik(1)}).json()
    by_number = control.get("/participants", params={"participant_number": numbers[0]}).json()
    by_batch = control.get("/participants", params={"batch_id": "batch-1"}).json()
    nobody = control.get("/participants", params={"ref": "enrolment-9"}).json()

    assert [row["ref"] for row in by_ref["participants"]] == ["enrolment-2"]
    assert [row["ref"] for row in by_nik["participants"]] == ["enrolment-1"]
    assert [row["ref"] for row in by_number["participants"]] == ["enrolment-3"]
    assert [row["ref"] for row in by_batch["participants"]] == ["enrolment-1", "enrolment-2"]
    assert nobody == {"count": 0, "participants": []}


def test_reset_wipes_the_state_but_never_reuses_a_number(registry, control):
    (before,) = numbers_of(submit(registry, batch("batch-1", [record(1)])))
    control.post("/changes", json={"ref": "enrolment-1", "status": "ended"})

    reset = control.post("/reset")

    assert reset.json() == {"reset": True}
    assert held(control) == []
    stats = control.get("/stats").json()
    assert (stats["participations"], stats["changes"], stats["requests"]) == (0, 0, {})
    assert registry.get("/v1/batches/batch-1").status_code == 404
    (after,) = numbers_of(submit(registry, batch("batch-1", [record(1)])))
    assert int(after) > int(before)


def test_state_survives_restarting_the_stub_in_process(tmp_path):
    options = {"data_dir": tmp_path / "registry", "api_key": API_KEY, "partner_id": PARTNER_ID}
    with start_in_thread(**options) as first, httpx.Client(base_url=first.url, headers=AUTH) as client:
        answer = submit(client, batch("batch-1", [record(1)]))

    with start_in_thread(**options) as second, httpx.Client(base_url=second.url, headers=AUTH) as client:
        polled = client.get("/v1/batches/batch-1")
        again = submit(client, batch("batch-2", [record(1)]))

    assert polled.content == answer.content
    assert again.json()["results"][0] == {
        "ref": "enrolment-1",
        "outcome": "duplicate",
        "participant_number": numbers_of(answer)[0],
        "reason_code": "ref_already_registered",
        "reason": "This ref is already registered.",
    }
