"""The stub's second-round protocol (REGISTRY.md, "Additions"): renewals keep the number, death
events and payments once per Idempotency-Key, and the three-month lapse in the changes feed."""

from __future__ import annotations

from tests.registry_stub.helpers import batch, nik, numbers_of, record, submit


def changes(registry):
    return [(c["participant_number"], c["status"]) for c in registry.get("/v1/participants/changes").json()["changes"]]


def test_a_renewal_is_a_new_ref_under_the_same_number(registry, control):
    (number,) = numbers_of(submit(registry, batch("b-2025", [record(1)])))

    renewed = submit(registry, batch("b-2026", [record(1, ref="enrolment-1-2026", renews=number)]))
    stranger = submit(registry, batch("b-x", [record(2, ref="enrolment-2-2026", renews=number)]))

    assert renewed.json()["results"][0] | {"reason": None} == {
        "ref": "enrolment-1-2026", "outcome": "accepted", "participant_number": number, "reason_code": None,
        "reason": None,
    }  # fmt: skip
    assert stranger.json()["results"][0]["outcome"] == "rejected"
    assert stranger.json()["results"][0]["reason_code"] == "renews_unknown"
    again = submit(registry, batch("b-2026b", [record(1, ref="enrolment-1-2026", renews=number)]))
    assert again.json()["results"][0]["participant_number"] == number
    assert control.get("/stats").json()["renewals"] == 1
    assert len(control.get("/participants", params={"nik": nik(1)}).json()["participants"]) == 1


def test_a_death_event_once_per_key(registry, control):
    (number,) = numbers_of(submit(registry, batch("b1", [record(1)])))
    body = {"type": "death", "date": "2026-11-30", "cause": "work_accident"}
    url = f"/v1/participants/{number}/events"

    first = registry.post(url, json=body, headers={"Idempotency-Key": "k1"})
    again = registry.post(url, json=body, headers={"Idempotency-Key": "k1"})
    other = registry.post(url, json={**body, "cause": "other"}, headers={"Idempotency-Key": "k1"})
    unknown = registry.post("/v1/participants/99999999999/events", json=body, headers={"Idempotency-Key": "k2"})

    assert (first.status_code, again.status_code, other.status_code, unknown.status_code) == (200, 200, 409, 404)
    assert first.json() == again.json() == {"status": "ended"}
    assert changes(registry) == [(number, "deceased")]
    assert control.get("/stats").json()["events"] == {"processed": 1, "replayed": 1, "conflicts": 1}


def test_unpaid_participants_lapse_and_a_payment_reactivates(registry, control):
    (number,) = numbers_of(submit(registry, batch("b1", [record(1)])))
    payment = {"reference": "TRX-1", "paid_at": "2026-05-01T10:00:00+07:00", "amount_idr": 16800,
               "items": [{"participant_number": number, "period_from": "2026-01", "period_to": "2026-08"}]}  # fmt: skip

    assert registry.post("/v1/payments", json=payment, headers={"Idempotency-Key": "p1"}).json() == {
        "status": "recorded"
    }
    assert control.post("/lapse", json={"today": "2026-11-15"}).json() == {"inactive": []}  # August: within 3 months
    assert control.post("/lapse", json={"today": "2026-12-02"}).json() == {"inactive": [number]}
    assert control.post("/lapse", json={"today": "2026-12-03"}).json() == {"inactive": []}
    later = {**payment, "reference": "TRX-2", "items": [{**payment["items"][0], "period_from": "2026-09",
                                                         "period_to": "2026-12"}]}  # fmt: skip
    assert registry.post("/v1/payments", json=later, headers={"Idempotency-Key": "p2"}).status_code == 200

    assert changes(registry) == [(number, "inactive"), (number, "active")]
    assert control.get("/stats").json()["payments"] == 2
