"""Submitting batches: numbers, idempotent resends, duplicates, rejections, concurrency, speed."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx

from registry_stub.server import RunningStub
from tests.registry_stub.helpers import AUTH, accepted, batch, held, nik, numbers_of, record, submit


def test_new_records_are_accepted_with_distinct_11_digit_numbers(registry, control):
    response = submit(registry, batch("batch-1", [record(1), record(2), record(3)]))

    assert response.status_code == 200
    numbers = numbers_of(response)
    assert all(re.fullmatch(r"[0-9]{11}", number) for number in numbers)
    assert len(set(numbers)) == 3
    assert response.json() == {
        "batch_id": "batch-1",
        "status": "completed",
        "results": [accepted(f"enrolment-{n}", number) for n, number in zip((1, 2, 3), numbers, strict=True)],
    }
    assert held(control) == [
        {
            "ref": f"enrolment-{n}",
            "nik": nik(n),
            "participant_number": number,
            "status": "active",
            "batch_id": "batch-1",
        }
        for n, number in zip((1, 2, 3), numbers, strict=True)
    ]


def test_resending_the_same_key_and_body_returns_the_first_answer_and_creates_nothing(registry, control):
    body = batch("batch-1", [record(1), record(2)])
    first = submit(registry, body)

    again = submit(registry, body)
    # The same JSON written differently (key order, spacing) is the same batch.
    rewritten = registry.post(
        "/v1/batches",
        content=json.dumps(body, sort_keys=True, indent=2),
        headers={"Idempotency-Key": "batch-1", "Content-Type": "application/json"},
    )

    assert first.status_code == again.status_code == rewritten.status_code == 200
    assert again.content == first.content
    assert rewritten.content == first.content
    stats = control.get("/stats").json()
    assert stats["participations"] == 2
    assert stats["batches"] == {"processed": 1, "replayed": 2, "conflicts": 0}
    assert stats["registrations_per_ref"] == {"enrolment-1": 1, "enrolment-2": 1}
    assert stats["requests"] == {"POST /v1/batches": {"200": 3}}


def test_the_same_key_with_another_body_is_409_and_changes_nothing(registry, control):
    first = submit(registry, batch("batch-1", [record(1)]))
    before = held(control)

    response = submit(registry, batch("batch-1", [record(1, full_name="Sitti Aminah")]))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert held(control) == before
    assert registry.get("/v1/batches/batch-1").content == first.content
    assert control.get("/stats").json()["batches"] == {"processed": 1, "replayed": 0, "conflicts": 1}


def test_a_ref_accepted_in_an_earlier_batch_is_a_duplicate_with_the_same_number(registry, control):
    first = submit(registry, batch("batch-1", [record(1), record(2)]))
    number_1, number_2 = numbers_of(first)

    second = submit(registry, batch("batch-2", [record(2), record(3)]))

    duplicate, new = second.json()["results"]
    assert duplicate == {
        "ref": "enrolment-2",
        "outcome": "duplicate",
        "participant_number": number_2,
        "reason_code": "ref_already_registered",
        "reason": "This ref is already registered.",
    }
    assert new["outcome"] == "accepted"
    assert new["participant_number"] not in (number_1, number_2)
    stats = control.get("/stats").json()
    assert stats["participations"] == 3
    assert stats["duplicates_answered"] == 1
    assert stats["registrations_per_ref"] == {"enrolment-1": 1, "enrolment-2": 1, "enrolment-3": 1}


def test_a_nik_registered_under_another_ref_is_a_duplicate_with_that_number(registry, control):
    (number,) = numbers_of(submit(registry, batch("batch-1", [record(1)])))

    # A second enrolment of the same person, from another batch and from within one batch.
    response = submit(registry, batch("batch-2", [record(2, nik=nik(1)), record(3), record(4, nik=nik(3))]))

    same_person, new, same_in_batch = response.json()["results"]
    assert same_person == {
        "ref": "enrolment-2",
        "outcome": "duplicate",
        "participant_number": number,
        "reason_code": "nik_already_registered",
        "reason": "This NIK already holds a participation.",
    }
    assert new["outcome"] == "accepted"
    assert same_in_batch["outcome"] == "duplicate"
    assert same_in_batch["participant_number"] == new["participant_number"]
    assert [row["ref"] for row in held(control)] == ["enrolment-1", "enrolment-3"]


def test_a_bad_nik_is_rejected_per_record_and_the_other_records_pass(registry, control):
    response = submit(
        registry, batch("batch-1", [record(1, nik="17040141"), record(2), record(3, nik="17040141000000AB")])
    )

    assert response.status_code == 200
    short, good, letters = response.json()["results"]
    for result, ref in ((short, "enrolment-1"), (letters, "enrolment-3")):
        assert result == {
            "ref": ref,
            "outcome": "rejected",
            "participant_number": None,
            "reason_code": "nik_invalid",
            "reason": "A NIK is 16 digits.",
        }
    assert good["outcome"] == "accepted"
    assert [row["ref"] for row in held(control)] == ["enrolment-2"]
    assert control.get("/stats").json()["records"] == {"accepted": 1, "duplicate": 0, "rejected": 2}


def test_niks_matching_the_reject_rules_are_not_found_at_dukcapil_and_can_come_back(registry, control):
    control.put("/faults", json={"reject_nik_prefixes": ["99"], "reject_niks": [nik(2)]})
    records = [record(1, nik="9904014101900001"), record(2), record(3)]

    response = submit(registry, batch("batch-1", records))

    unknown_prefix, unknown_nik, good = response.json()["results"]
    for result, ref in ((unknown_prefix, "enrolment-1"), (unknown_nik, "enrolment-2")):
        assert result == {
            "ref": ref,
            "outcome": "rejected",
            "participant_number": None,
            "reason_code": "nik_not_found",
            "reason": "NIK not found at Dukcapil.",
        }
    assert good["outcome"] == "accepted"
    # Once Dukcapil knows the person, the same ref goes through: a rejection registers nothing.
    control.put("/faults", json={})
    retry = submit(registry, batch("batch-2", records))
    assert [result["outcome"] for result in retry.json()["results"]] == ["accepted", "accepted", "duplicate"]
    assert control.get("/stats").json()["registrations_per_ref"] == {
        "enrolment-1": 1,
        "enrolment-2": 1,
        "enrolment-3": 1,
    }


def test_concurrent_resends_of_one_batch_are_processed_once(registry, control):
    body = batch("batch-1", [record(n) for n in range(50)])

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: submit(registry, body), range(8)))

    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1
    stats = control.get("/stats").json()
    assert stats["batches"] == {"processed": 1, "replayed": 7, "conflicts": 0}
    assert stats["participations"] == 50


def test_concurrent_batches_sharing_niks_register_each_nik_once(stub: RunningStub, control):
    # 8 batches from 8 connections; batch b sends NIKs 0..19 under its own refs.
    bodies = [batch(f"batch-{b}", [record(100 * b + n, nik=nik(n)) for n in range(20)]) for b in range(8)]

    def send(body: dict) -> httpx.Response:
        with httpx.Client(base_url=stub.url, headers=AUTH, timeout=10) as client:
            return submit(client, body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(send, bodies))

    outcomes = [result for response in responses for result in response.json()["results"]]
    assert sum(result["outcome"] == "accepted" for result in outcomes) == 20
    assert sum(result["outcome"] == "duplicate" for result in outcomes) == 140
    number_by_nik = {row["nik"]: row["participant_number"] for row in held(control)}
    assert len(number_by_nik) == 20
    for response in responses:
        for n, result in enumerate(response.json()["results"]):
            assert result["participant_number"] == number_by_nik[nik(n)]


def test_a_1000_record_batch_reports_its_own_processing_time(registry, control):
    """Server-Timing carries the registry's own work; how long that is, is a figure of
    bench/registry_sync.py (registry_s), not an assertion: a shared machine makes timings flaky."""
    for attempt in range(3):
        body = batch(f"batch-{attempt}", [record(1000 * attempt + n) for n in range(1000)])
        response = submit(registry, body)
        assert response.status_code == 200
        assert len(set(numbers_of(response))) == 1000
        name, _, duration = response.headers["Server-Timing"].partition(";dur=")
        assert name == "process"
        assert float(duration) >= 0
    assert control.get("/stats").json()["participations"] == 3000
