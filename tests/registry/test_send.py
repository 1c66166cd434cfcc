"""Sending batches to the stub and writing its answers back: outcomes, retries, polling, the
sweeper, terminal failures; every time the stub counts one registration per enrolment."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from enrolment.models import Enrolment, Status
from enrolment.registry import services
from enrolment.registry.client import BatchAnswer, RecordResult
from enrolment.registry.models import BatchStatus, ItemOutcome, RegistryBatch
from tests.registry.conftest import make_verified, stub_faults
from tests.registry_stub.helpers import batch as batch_of
from tests.registry_stub.helpers import record
from villages.models import AuditEvent

pytestmark = pytest.mark.django_db


def claim_and_send(count: int = 2, **worker_fields) -> tuple[RegistryBatch, list[Enrolment]]:
    enrolments = make_verified(count, **worker_fields)
    batch = services.registry_batch_claim()
    services.registry_batch_send(batch_id=str(batch.id))
    batch.refresh_from_db()
    return batch, enrolments


def due_now(batch: RegistryBatch) -> None:
    """Skip the wait before the next attempt (the delay itself is asserted where it matters)."""
    RegistryBatch.objects.filter(pk=batch.pk).update(next_attempt_at=timezone.now())


def stats(control) -> dict:
    return control.get("/stats").json()


def test_accepted_records_become_active_with_their_numbers(registry, control):
    batch, enrolments = claim_and_send(2)

    assert (batch.status, batch.attempts, batch.failures, batch.accepted_count) == (BatchStatus.COMPLETED, 1, 0, 2)
    assert batch.completed_at is not None
    assert batch.lease_owner == ""
    assert batch.lease_expires_at is None
    numbers = dict(batch.items.values_list("enrolment_id", "participant_number"))
    for enrolment in enrolments:
        enrolment.refresh_from_db()
        assert enrolment.status == Status.ACTIVE
        assert enrolment.registry_number == numbers[enrolment.id]
        assert (enrolment.registry_status, enrolment.registry_status_date) == ("active", timezone.localdate())
        assert enrolment.synced_at is not None
        assert enrolment.version == 3  # verified → queued → active
    assert set(batch.items.values_list("outcome", flat=True)) == {ItemOutcome.ACCEPTED}
    event = AuditEvent.objects.get(object_id=enrolments[0].id, changes__status=["queued", "active"])
    assert event.actor_username == "system"
    assert event.changes == {"status": ["queued", "active"], "registry_number": ["", numbers[enrolments[0].id]]}
    assert event.context == {"batch": str(batch.id), "outcome": "accepted"}
    assert stats(control)["registrations_per_ref"] == {e.id: 1 for e in enrolments}


def test_a_rejected_record_carries_the_registrys_reason_and_can_be_corrected(registry, control, api, make_user):
    (enrolment,) = make_verified(1)
    stub_faults(control, reject_niks=[enrolment.worker.nik])
    batch = services.registry_batch_claim()

    services.registry_batch_send(batch_id=str(batch.id))

    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.status_reason, enrolment.registry_number) == (
        Status.REJECTED,
        "NIK not found at Dukcapil.",
        "",
    )
    item = batch.items.get()
    assert (item.outcome, item.reason_code, item.reason) == ("rejected", "nik_not_found", "NIK not found at Dukcapil.")
    # The device sees it on its next read, and the officer corrects and submits again.
    officer = make_user()
    seen = api(officer).get(f"/api/v1/enrolments/{enrolment.id}").json()
    assert (seen["status"], seen["status_reason"]) == ("rejected", "NIK not found at Dukcapil.")
    fixed_nik = enrolment.worker.nik[:-4] + "9999"
    patched = api(officer).patch(f"/api/v1/workers/{enrolment.worker_id}", {"nik": fixed_nik}, format="json")
    assert patched.status_code == 200, patched.json()
    assert api(officer).post(f"/api/v1/enrolments/{enrolment.id}/submit", {}, format="json").status_code == 200
    operator = make_user(role="village_operator")
    assert api(operator).post(f"/api/v1/enrolments/{enrolment.id}/verify", {}, format="json").status_code == 200
    second = services.registry_batch_claim()
    services.registry_batch_send(batch_id=str(second.id))
    enrolment.refresh_from_db()
    assert enrolment.status == Status.ACTIVE
    assert stats(control)["registrations_per_ref"] == {enrolment.id: 1}
    assert list(enrolment.registry_items.order_by("id").values_list("outcome", flat=True)) == ["rejected", "accepted"]


def test_a_duplicate_becomes_active_with_the_number_the_registry_already_holds(registry):
    (enrolment,) = make_verified(1)
    # The same NIK was registered through another channel, under another ref.
    elsewhere = json.dumps(batch_of("other-channel", [record(1, ref="elsewhere-1", nik=enrolment.worker.nik)]))
    (existing,) = (
        services.registry_client()
        .submit_batch(batch_id="other-channel", body=elsewhere.encode(), refs=["elsewhere-1"])
        .results
    )

    batch = services.registry_batch_claim()
    services.registry_batch_send(batch_id=str(batch.id))

    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.registry_number) == (Status.ACTIVE, existing.participant_number)
    item = batch.items.get()
    assert (item.outcome, item.reason_code) == (ItemOutcome.DUPLICATE, "nik_already_registered")
    assert RegistryBatch.objects.get(pk=batch.pk).duplicate_count == 1


def test_a_transient_failure_waits_with_backoff_and_the_next_attempt_completes(registry, control):
    stub_faults(control, error_5xx=1, seed=1)
    started = timezone.now()
    batch, enrolments = claim_and_send(2)

    assert (batch.status, batch.attempts, batch.failures) == (BatchStatus.PENDING, 1, 1)
    assert batch.last_error_status in (500, 502, 503)
    # First failure: between half and all of the base delay (2 s in these tests).
    assert started + dt.timedelta(seconds=1) <= batch.next_attempt_at <= timezone.now() + dt.timedelta(seconds=2)
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.QUEUED}
    assert services.registry_batch_send(batch_id=str(batch.id)).state == "skipped"  # not due yet

    stub_faults(control)
    due_now(batch)
    outcome = services.registry_batch_send(batch_id=str(batch.id))

    batch.refresh_from_db()
    assert (outcome.state, batch.status, batch.attempts) == (BatchStatus.COMPLETED, BatchStatus.COMPLETED, 2)
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.ACTIVE}
    assert stats(control)["registrations_per_ref"] == {e.id: 1 for e in enrolments}


def test_retry_after_is_honoured(registry, control):
    stub_faults(control, rate_limit_429=1, retry_after_seconds=7)
    before = timezone.now()

    batch, _ = claim_and_send(1)

    assert (batch.status, batch.last_error_status, batch.last_error_code) == (BatchStatus.PENDING, 429, "rate_limited")
    assert batch.next_attempt_at >= before + dt.timedelta(seconds=7)


def test_transient_failures_past_the_cap_fail_the_batch(registry, control):
    stub_faults(control, error_5xx=1)
    batch, _ = claim_and_send(1)
    for _ in range(3):  # REGISTRY_MAX_RETRIES = 3 in these tests
        due_now(batch)
        services.registry_batch_send(batch_id=str(batch.id))

    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.failures, batch.next_attempt_at) == (BatchStatus.FAILED, 4, 4, None)
    assert batch.failed_at is not None
    assert Enrolment.objects.get().status == Status.QUEUED


def test_a_lost_answer_is_resent_under_the_same_key_and_registered_once(registry, control):
    stub_faults(control, drop_after_process=1)
    batch, enrolments = claim_and_send(3)
    assert (batch.status, batch.last_error_code) == (BatchStatus.PENDING, "answer_lost")

    stub_faults(control)
    due_now(batch)
    services.registry_batch_send(batch_id=str(batch.id))

    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    registry_stats = stats(control)
    assert registry_stats["batches"] == {"processed": 1, "replayed": 1, "conflicts": 0}
    assert registry_stats["registrations_per_ref"] == {e.id: 1 for e in enrolments}


def test_202_then_polls_until_the_results_come(registry, control, settings):
    settings.REGISTRY_POLL_SECONDS = 0
    stub_faults(control, async_202=1, async_polls=1)
    batch, _ = claim_and_send(2)
    assert (batch.status, batch.acknowledged) == (BatchStatus.POLLING, True)

    services.registry_batch_send(batch_id=str(batch.id))  # still processing
    batch.refresh_from_db()
    assert (batch.status, batch.failures) == (BatchStatus.POLLING, 0)
    services.registry_batch_send(batch_id=str(batch.id))

    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == (BatchStatus.COMPLETED, 3)
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.ACTIVE}
    requests = stats(control)["requests"]
    assert requests["POST /v1/batches"] == {"202": 1}
    assert requests["GET /v1/batches/{batch_id}"] == {"200": 2}


def test_the_sweeper_resumes_a_batch_whose_worker_died_after_sending(registry, control):
    enrolments = make_verified(2)
    batch = services.registry_batch_claim()
    # A worker took the lease, sent the batch (the registry processed it) and died before writing back.
    services.registry_client().submit_batch(
        batch_id=str(batch.id), body=batch.payload.encode(), refs=[e.id for e in enrolments]
    )
    RegistryBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.SENDING, lease_owner="dead", lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    payload = batch.payload

    assert services.registry_batches_sweep() == 1
    swept = RegistryBatch.objects.get(pk=batch.pk)
    assert (swept.status, swept.failures, swept.last_error_code, swept.lease_owner) == (
        BatchStatus.PENDING, 1, "lease_expired", "",
    )  # fmt: skip
    due_now(batch)
    services.registry_batch_send(batch_id=str(batch.id))

    done = RegistryBatch.objects.get(pk=batch.pk)
    assert done.status == BatchStatus.COMPLETED
    registry_stats = stats(control)
    # The same bytes under the same key: answered from the first answer, no conflict.
    assert registry_stats["batches"] == {"processed": 1, "replayed": 1, "conflicts": 0}
    assert json.loads(payload)["batch_id"] == str(batch.id)
    assert registry_stats["registrations_per_ref"] == {e.id: 1 for e in enrolments}
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.ACTIVE}


def test_the_sweeper_leaves_live_leases_alone(registry):
    make_verified(1)
    batch = services.registry_batch_claim()
    RegistryBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.SENDING, lease_owner="alive", lease_expires_at=timezone.now() + dt.timedelta(seconds=60)
    )

    assert services.registry_batches_sweep() == 0
    assert services.registry_batch_send(batch_id=str(batch.id)).state == "skipped"
    assert RegistryBatch.objects.get(pk=batch.pk).lease_owner == "alive"


def test_a_malformed_batch_fails_at_once_and_names_the_record(registry, control):
    enrolments = make_verified(2)
    no_income = make_verified(1, monthly_income=None)[0]

    batch = services.registry_batch_claim()
    services.registry_batch_send(batch_id=str(batch.id))

    batch.refresh_from_db()
    assert (batch.status, batch.failures, batch.last_error_status, batch.last_error_code) == (
        BatchStatus.FAILED, 0, 400, "invalid_record",
    )  # fmt: skip
    assert batch.last_error_details == {"index": 2, "field": "monthly_income"}
    item = batch.items.get(enrolment=no_income)
    assert item.error["code"] == "invalid_record"
    assert item.error["field"] == "monthly_income"
    assert [i.error for i in batch.items.exclude(enrolment=no_income)] == [{}, {}]
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.QUEUED}
    assert stats(control)["registrations_per_ref"] == {}
    assert len(enrolments) == 2


def test_wrong_credentials_fail_the_batch_and_are_logged_as_errors(registry, settings, caplog):
    settings.REGISTRY_API_KEY = "wrong"

    batch, _ = claim_and_send(1)

    assert (batch.status, batch.last_error_status, batch.last_error_code) == (
        BatchStatus.FAILED,
        401,
        "unauthenticated",
    )
    assert any(r.levelname == "ERROR" and "credentials" in r.getMessage() for r in caplog.records)


def test_results_are_written_once_even_if_applied_twice(registry):
    enrolments = make_verified(2)
    batch = services.registry_batch_claim()
    answer = BatchAnswer(
        batch_id=str(batch.id),
        completed=True,
        results=tuple(RecordResult(e.id, "accepted", f"9{n:010d}", "", "") for n, e in enumerate(enrolments)),
    )

    services._apply_results(batch.pk, answer)
    events = AuditEvent.objects.count()
    again = services._apply_results(batch.pk, answer)

    assert again.state == BatchStatus.COMPLETED
    assert AuditEvent.objects.count() == events
    assert set(Enrolment.objects.values_list("status", "version")) == {(Status.ACTIVE, 3)}


def test_an_invalid_answer_is_a_transient_failure(registry, control, monkeypatch):
    (enrolment,) = make_verified(1)
    batch = services.registry_batch_claim()

    class Liar:
        def submit_batch(self, **kwargs):
            return services.registry_client().submit_batch(**{**kwargs, "refs": ["someone-else"]})

    outcome = services.registry_batch_send(batch_id=str(batch.id), client=Liar())

    batch.refresh_from_db()
    assert (outcome.state, batch.status, batch.last_error_code) == ("pending", "pending", "answer_invalid")
    assert batch.last_error_message == "a result names a record that was not sent"
    enrolment.refresh_from_db()
    assert enrolment.status == Status.QUEUED


@pytest.mark.parametrize("failures", [1, 2, 3, 8])
def test_backoff_doubles_with_jitter_up_to_the_cap(settings, failures):
    settings.REGISTRY_RETRY_BASE_SECONDS = 10
    settings.REGISTRY_RETRY_MAX_SECONDS = 60
    ceiling = min(60, 10 * 2 ** (failures - 1))

    delays = [services.retry_delay(failures) for _ in range(200)]

    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len({round(delay, 6) for delay in delays}) > 150  # jitter: they do not bunch


def test_backoff_never_undercuts_retry_after_but_caps_it(settings):
    settings.REGISTRY_RETRY_BASE_SECONDS = 1
    settings.REGISTRY_RETRY_AFTER_MAX_SECONDS = 600

    assert services.retry_delay(1, retry_after=30) == 30
    assert services.retry_delay(1, retry_after=10**6) == 600


def test_the_payload_is_the_body_sent_and_is_emptied_once_completed(registry, control):
    enrolments = make_verified(2)
    batch = services.registry_batch_claim()
    sent = [r["nik"] for r in json.loads(batch.payload)["records"]]
    services.registry_batch_send(batch_id=str(batch.id))

    held = control.get("/participants", params={"batch_id": str(batch.id)}).json()["participants"]

    assert sorted((row["ref"], row["nik"]) for row in held) == sorted((e.id, e.worker.nik) for e in enrolments)
    assert sent == [e.worker.nik for e in enrolments]
    # Never sent again, so its copy of personal data goes.
    assert RegistryBatch.objects.get(pk=batch.pk).payload == ""
