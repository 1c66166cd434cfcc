"""Injected faults: each behaves as documented and none breaks exactly-once registration."""

from __future__ import annotations

import time

import httpx
import pytest

from registry_stub.server import RunningStub
from tests.registry_stub.helpers import AUTH, batch, held, numbers_of, record, submit


def test_async_202_answers_processing_then_completes_after_the_configured_polls(registry, control):
    control.put("/faults", json={"async_202": 1, "async_polls": 2})
    body = batch("batch-1", [record(1), record(2)])

    first = submit(registry, body)
    polls = [registry.get("/v1/batches/batch-1") for _ in range(4)]
    resent = submit(registry, body)

    assert first.status_code == 202
    assert first.json() == {"batch_id": "batch-1", "status": "processing"}
    assert [poll.status_code for poll in polls] == [200, 200, 200, 200]
    assert [poll.json()["status"] for poll in polls] == ["processing", "processing", "completed", "completed"]
    completed = polls[2].json()
    assert [result["outcome"] for result in completed["results"]] == ["accepted", "accepted"]
    assert numbers_of(polls[2]) == [row["participant_number"] for row in held(control)]
    assert polls[3].content == polls[2].content
    # The resend gets the first answer, a 202, and creates nothing.
    assert resent.status_code == 202
    assert resent.content == first.content
    stats = control.get("/stats").json()
    assert stats["faults"]["async_202"] == 1
    assert stats["participations"] == 2
    assert stats["requests"]["POST /v1/batches"] == {"202": 2}
    assert stats["requests"]["GET /v1/batches/{batch_id}"] == {"200": 4}


def test_async_seconds_keeps_a_batch_processing_for_that_long(registry, control):
    control.put("/faults", json={"async_202": 1, "async_polls": 0, "async_seconds": 0.3})
    submit(registry, batch("batch-1", [record(1)]))

    early = registry.get("/v1/batches/batch-1").json()
    time.sleep(0.3)
    late = registry.get("/v1/batches/batch-1").json()

    assert early == {"batch_id": "batch-1", "status": "processing"}
    assert late["status"] == "completed"
    assert [result["outcome"] for result in late["results"]] == ["accepted"]


def test_a_dropped_answer_is_a_connection_error_and_the_resend_gets_the_stored_answer(registry, control):
    control.put("/faults", json={"drop_after_process": 1})
    body = batch("batch-1", [record(1), record(2)])

    with pytest.raises(httpx.RemoteProtocolError):
        submit(registry, body)
    processed = held(control)
    control.put("/faults", json={})
    resent = submit(registry, body)

    assert len(processed) == 2  # the registry did the work the client never heard about
    assert resent.status_code == 200
    assert [result["outcome"] for result in resent.json()["results"]] == ["accepted", "accepted"]
    assert numbers_of(resent) == [row["participant_number"] for row in processed]
    assert held(control) == processed
    stats = control.get("/stats").json()
    assert stats["registrations_per_ref"] == {"enrolment-1": 1, "enrolment-2": 1}
    assert stats["refs_registered_more_than_once"] == []
    assert stats["batches"] == {"processed": 1, "replayed": 1, "conflicts": 0}
    assert stats["requests"]["POST /v1/batches"] == {"dropped": 1, "200": 1}
    assert stats["faults"]["drop_after_process"] == 1


def test_a_timeout_after_processing_leaves_the_batch_registered(stub: RunningStub, control):
    control.put("/faults", json={"timeout": 1, "timeout_seconds": 0.6})
    body = batch("batch-1", [record(1)])

    with httpx.Client(base_url=stub.url, headers=AUTH, timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        submit(impatient, body)
    processed = held(control)
    control.put("/faults", json={})
    with httpx.Client(base_url=stub.url, headers=AUTH, timeout=5) as client:
        resent = submit(client, body)

    assert len(processed) == 1
    assert numbers_of(resent) == [processed[0]["participant_number"]]
    stats = control.get("/stats").json()
    assert stats["registrations_per_ref"] == {"enrolment-1": 1}
    assert stats["requests"]["POST /v1/batches"] == {"timeout": 1, "200": 1}
    assert stats["faults"]["timeout"] == 1


def test_a_timeout_before_processing_registers_nothing(stub: RunningStub, control):
    control.put("/faults", json={"timeout": 1, "timeout_seconds": 0.6, "timeout_processes": False})

    with httpx.Client(base_url=stub.url, headers=AUTH, timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        submit(impatient, batch("batch-1", [record(1)]))

    stats = control.get("/stats").json()
    assert stats["participations"] == 0
    assert stats["batches"]["processed"] == 0
    assert stats["requests"]["POST /v1/batches"] == {"timeout": 1}


def test_a_hanging_answer_closes_the_connection_after_timeout_seconds(registry, control):
    control.put("/faults", json={"timeout": 1, "timeout_seconds": 0.3})

    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        submit(registry, batch("batch-1", [record(1)]))

    assert time.monotonic() - started >= 0.3


def test_a_rate_limited_request_carries_retry_after_and_is_not_processed(registry, control):
    control.put("/faults", json={"rate_limit_429": 1, "retry_after_seconds": 7})
    body = batch("batch-1", [record(1)])

    response = submit(registry, body)
    poll = registry.get("/v1/batches/batch-1")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "rate_limited"
    assert poll.status_code == 429
    assert held(control) == []
    control.put("/faults", json={})
    assert submit(registry, body).status_code == 200  # the refused batch_id was not kept
    assert control.get("/stats").json()["faults"]["rate_limit_429"] == 2


def test_5xx_answers_are_not_processed(registry, control):
    control.put("/faults", json={"error_5xx": 1, "seed": 5})

    responses = [submit(registry, batch("batch-1", [record(1)])) for _ in range(12)]

    assert {response.status_code for response in responses} == {500, 502, 503}
    for response in responses:
        if response.status_code == 502:
            assert response.headers["Content-Type"] == "text/html"  # a gateway's page, not JSON
        else:
            assert response.json()["error"]["code"] == "registry_unavailable"
    stats = control.get("/stats").json()
    assert stats["participations"] == 0
    assert stats["batches"]["processed"] == 0
    assert stats["faults"]["error_5xx"] == 12


def test_the_same_seed_gives_the_same_faults(registry, control):
    control.put("/faults", json={"error_5xx": 0.3, "rate_limit_429": 0.3, "seed": 42})

    def run() -> list[int]:
        return [submit(registry, batch(f"batch-{n}", [record(n)])).status_code for n in range(20)]

    first = run()
    control.post("/reset")  # wipes the state and restarts the seeded sequence
    second = run()

    assert first == second
    assert {200, 429} <= set(first)
    assert set(first) & {500, 502, 503}


def test_a_slow_answer_arrives_after_slow_seconds_with_the_batch_processed(registry, control):
    control.put("/faults", json={"slow": 1, "slow_seconds": 0.3})

    started = time.monotonic()
    response = submit(registry, batch("batch-1", [record(1)]))

    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200
    assert control.get("/stats").json()["faults"]["slow"] == 1


def test_latency_ms_is_added_to_every_v1_call(registry, control):
    control.put("/faults", json={"latency_ms": 50})
    calls = [
        lambda: submit(registry, batch("batch-1", [record(1)])),
        lambda: registry.get("/v1/batches/batch-1"),
        lambda: registry.get("/v1/participants/changes"),
    ]

    for call in calls:
        started = time.monotonic()
        assert call().status_code == 200
        assert time.monotonic() - started >= 0.05


def test_faults_put_replaces_and_patch_merges(control):
    put = control.put("/faults", json={"error_5xx": 0.1, "latency_ms": 50, "reject_niks": ["1704014100000001"]})
    patched = control.patch("/faults", json={"slow": 0.2})
    replaced = control.put("/faults", json={"slow": 0.5})

    assert put.status_code == 200
    assert put.json() == {
        "error_5xx": 0.1,
        "rate_limit_429": 0.0,
        "timeout": 0.0,
        "drop_after_process": 0.0,
        "slow": 0.0,
        "async_202": 0.0,
        "changes_error_5xx": 0.0,
        "changes_repeat": 0.0,
        "retry_after_seconds": 1,
        "slow_seconds": 2.0,
        "timeout_seconds": 30.0,
        "timeout_processes": True,
        "async_polls": 2,
        "async_seconds": 0.0,
        "latency_ms": 50,
        "reject_nik_prefixes": [],
        "reject_niks": ["1704014100000001"],
        "mismatch_niks": [],
        "seed": None,
    }
    assert patched.json() == {**put.json(), "slow": 0.2}
    assert replaced.json() == {**put.json(), "error_5xx": 0.0, "latency_ms": 0, "reject_niks": [], "slow": 0.5}
    assert control.get("/faults").json() == replaced.json()


@pytest.mark.parametrize(
    "faults",
    [
        {"error_5xx": 1.5},
        {"error_5xx": 0.6, "drop_after_process": 0.6},
        {"no_such_fault": 1},
        {"latency_ms": "50"},
        {"timeout_processes": 1},
        {"reject_niks": "1704014100000001"},
        {"retry_after_seconds": -1},
        {"changes_repeat": 2},
    ],
)
def test_unusable_fault_settings_are_400_and_change_nothing(control, faults):
    before = control.get("/faults").json()

    response = control.put("/faults", json=faults)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_settings"
    assert control.get("/faults").json() == before
