"""enrolment.decisions.decide_enrolment: the enrolments table's own rules, as a pure function (no
database). The shared rules are villages.upsert's, exercised through the API in test_enrolments_api.py."""

import datetime as dt

from enrolment.decisions import EnrolmentFacts, decide_enrolment
from enrolment.models import Enrolment
from enrolment.validation import CleanedEnrolment
from villages.models import Role, User
from villages.scope import Scope
from villages.upsert import Refuse, Replay, SaveMode, Write
from workers.models import Worker

WANI = "17.04.01.2001"
ELSEWHERE = "17.05.01.2001"
NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
OFFICER = User(id=7, username="petugas", role=Role.FIELD_OFFICER)
CONSENTED = Worker(id="w1", village_id=WANI, consent_given_at=NOW)


def record(record_id="e1", status=None, errors=None, worker="w1"):
    values = {"worker_id": worker, "village_id": WANI, "programs": ["JKK", "JKM"], "budget_year": 2026}
    return CleanedEnrolment(id=record_id, values=values, status=status, errors=dict(errors or {}))


def facts(worker=CONSENTED, live=None, user=OFFICER):
    return EnrolmentFacts(
        scope=Scope(everything=False, codes=(WANI,)),
        user=user,
        now=NOW,
        workers={worker.id: worker},
        live_by_worker=dict(live or {}),
    )


def decide(rec, current=None, *, known=None, mode=SaveMode.UPSERT, keep_invalid=False):
    return decide_enrolment(rec, current, facts=known or facts(), mode=mode, keep_invalid=keep_invalid)


def test_a_new_draft_writes_its_values_and_who_moved_it_when():
    decision = decide(record())

    assert isinstance(decision, Write)
    assert decision.values == {
        "worker_id": "w1", "village_id": WANI, "programs": ["JKK", "JKM"], "budget_year": 2026,
        "needs_correction": False, "errors": {},
    }  # fmt: skip
    assert decision.on_create == {"status": "draft", "status_changed_at": NOW, "status_changed_by_id": 7}
    assert decision.create_context == {"status": "draft", "needs_correction": False}
    assert (decision.status, decision.locked) == ("draft", None)


def test_asking_for_submitted_submits_a_consented_person():
    decision = decide(record(status="submitted"))
    assert isinstance(decision, Write)
    assert decision.status == "submitted"
    assert decision.status_values == {
        "status": "submitted",
        "status_reason": "",
        "status_changed_at": NOW,
        "status_changed_by": OFFICER,
    }


def test_submitting_without_consent_is_refused_or_kept_flagged():
    no_consent = Worker(id="w1", village_id=WANI, consent_given_at=None)

    refused = decide(record(status="submitted"), known=facts(worker=no_consent))
    kept = decide(record(status="submitted"), known=facts(worker=no_consent), keep_invalid=True)

    assert isinstance(refused, Refuse)
    assert (refused.error.code, list(refused.error.details["fields"])) == ("consent_missing", ["worker"])
    assert isinstance(kept, Write)
    assert (kept.status, kept.values["needs_correction"]) == ("draft", True)
    assert list(kept.values["errors"]) == ["worker"]


def test_a_role_that_may_not_submit_is_403():
    viewer = User(id=8, username="lihat", role=Role.VIEWER)
    decision = decide(record(status="submitted"), known=facts(user=viewer))
    assert isinstance(decision, Refuse)
    assert decision.error.code == "permission_denied"


def test_a_second_live_enrolment_is_refused_naming_it_only_in_scope():
    inside = decide(record(), known=facts(live={"w1": ("e0", WANI)}))
    outside = decide(record(), known=facts(live={"w1": ("e0", ELSEWHERE)}))
    kept = decide(record(), known=facts(live={"w1": ("e0", WANI)}), keep_invalid=True)
    itself = decide(record(), known=facts(live={"w1": ("e1", WANI)}))

    assert isinstance(inside, Refuse)
    assert isinstance(outside, Refuse)
    assert (inside.error.code, inside.error.details) == ("already_enrolled", {"enrolment": "e0"})
    assert (outside.error.code, outside.error.details) == ("already_enrolled", {})
    assert isinstance(kept, Write)
    assert kept.values["needs_correction"] is True
    assert isinstance(itself, Write)
    assert itself.values["needs_correction"] is False


def test_a_create_of_a_stored_enrolment_is_decided_on_the_body_alone():
    rec = record()
    same = Enrolment(id="e1", worker_id="w1", village_id=WANI, status="verified", request_hash=rec.request_hash())
    other = Enrolment(id="e1", worker_id="w1", village_id=WANI, status="draft", request_hash="0" * 64)

    assert decide(rec, same, mode=SaveMode.CREATE) == Replay()
    refused = decide(rec, other, mode=SaveMode.CREATE)
    assert isinstance(refused, Refuse)
    assert refused.error.code == "idempotency_key_reused"


def test_an_enrolment_never_moves_to_another_person():
    stored = Enrolment(id="e1", worker_id="w9", village_id=WANI, status="draft")
    decision = decide(record(), stored)
    assert isinstance(decision, Refuse)
    assert (decision.error.code, list(decision.error.details["fields"])) == ("validation_failed", ["worker"])


def test_a_verified_enrolment_is_locked_for_changes():
    stored = Enrolment(id="e1", worker_id="w1", village_id=WANI, status="verified")
    decision = decide(record(), stored)
    assert isinstance(decision, Write)
    assert decision.status == "verified"
    assert decision.locked is not None
    assert (decision.locked.code, decision.locked.details) == ("enrolment_locked", {"status": "verified"})
