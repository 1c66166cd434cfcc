"""workers.decisions.decide_worker: the workers table's own rules, as a pure function (no database).

The shared rules (ids, scope, tombstones, replays, If-Match, versions, audit) are villages.upsert's
and are exercised through the API in test_workers_api.py."""

import datetime as dt

from rest_framework.exceptions import ErrorDetail

from villages.scope import Scope
from villages.upsert import Refuse, Write
from workers.decisions import NikHolder, WorkerFacts, decide_worker
from workers.models import Worker
from workers.validation import CleanedWorker

WANI = "17.04.01.2001"
ELSEWHERE = "17.05.01.2001"
NIK = "1704014101900001"


def record(record_id="w1", nik=NIK, errors=None, warnings=()):
    values = {"village_id": WANI, "nik": nik, "full_name": "Siti", "birth_date": dt.date(1990, 1, 1)}
    return CleanedWorker(id=record_id, values=values, errors=dict(errors or {}), warnings=list(warnings))


def facts(**kwargs):
    return WorkerFacts(scope=Scope(everything=False, codes=(WANI,)), **kwargs)


def test_a_valid_record_writes_its_values_unflagged_and_claims_its_nik():
    known = facts()
    decision = decide_worker(
        record(warnings=["possible_duplicate", "possible_duplicate"]), None, facts=known, keep_invalid=False
    )

    assert decision == Write(
        values={
            "village_id": WANI, "nik": NIK, "full_name": "Siti", "birth_date": dt.date(1990, 1, 1),
            "nik_status": "unverified", "nik_status_reason": "",
            "warnings": ["possible_duplicate"], "needs_correction": False, "errors": {},
        },
        create_context={"needs_correction": False},
    )  # fmt: skip
    assert known.claimed == {NIK: "w1"}


def test_a_nik_held_in_scope_is_refused_naming_the_holder():
    decision = decide_worker(record(), None, facts=facts(holders={NIK: NikHolder("w0", WANI)}), keep_invalid=False)

    assert isinstance(decision, Refuse)
    assert (decision.error.code, decision.error.details) == ("nik_already_registered", {"worker": "w0"})


def test_a_nik_held_outside_scope_is_refused_naming_nobody():
    decision = decide_worker(record(), None, facts=facts(holders={NIK: NikHolder("w0", ELSEWHERE)}), keep_invalid=False)

    assert isinstance(decision, Refuse)
    assert (decision.error.code, decision.error.details) == ("nik_already_registered", {})


def test_the_holder_itself_may_save_its_nik():
    decision = decide_worker(record(), None, facts=facts(holders={NIK: NikHolder("w1", WANI)}), keep_invalid=False)
    assert isinstance(decision, Write)


def test_a_nik_claimed_earlier_in_the_request_is_refused_for_the_later_record():
    known = facts(claimed={NIK: "w1"})
    decision = decide_worker(record("w2"), None, facts=known, keep_invalid=False)

    assert isinstance(decision, Refuse)
    assert (decision.error.code, decision.error.details) == ("nik_already_registered", {"worker": "w1"})
    assert known.claimed == {NIK: "w1"}


def test_a_device_record_with_a_taken_nik_is_kept_flagged():
    decision = decide_worker(record(), None, facts=facts(holders={NIK: NikHolder("w0", WANI)}), keep_invalid=True)

    assert isinstance(decision, Write)
    assert decision.values["needs_correction"] is True
    assert decision.values["errors"] == {"nik": ["NIK ini sudah terdaftar."]}  # stored in the default language
    assert decision.create_context == {"needs_correction": True}


def test_a_nik_the_registry_holds_cannot_change():
    stored = Worker(id="w1", village_id=WANI, nik="1704014101900002")
    decision = decide_worker(record(), stored, facts=facts(nik_locked={"w1"}), keep_invalid=False)

    assert isinstance(decision, Refuse)
    assert decision.error.code == "nik_locked"


def test_a_locked_nik_saved_unchanged_is_fine():
    stored = Worker(id="w1", village_id=WANI, nik=NIK)
    assert isinstance(decide_worker(record(), stored, facts=facts(nik_locked={"w1"}), keep_invalid=False), Write)


def test_field_errors_refuse_unless_kept_and_never_a_bad_village():
    bad_phone = {"phone": [ErrorDetail("Enter a phone number.", code="invalid")]}
    bad_village = {"village": [ErrorDetail("Unknown village.", code="invalid")]}

    refused = decide_worker(record(errors=bad_phone), None, facts=facts(), keep_invalid=False)
    kept = decide_worker(record(errors=bad_phone), None, facts=facts(), keep_invalid=True)
    structural = decide_worker(record(errors=bad_village), None, facts=facts(), keep_invalid=True)

    assert isinstance(refused, Refuse)
    assert (refused.error.code, refused.error.details) == (
        "validation_failed",
        {"fields": {"phone": ["Enter a phone number."]}},
    )
    assert isinstance(kept, Write)
    assert (kept.values["needs_correction"], kept.values["errors"]) == (True, {"phone": ["Enter a phone number."]})
    assert isinstance(structural, Refuse)
