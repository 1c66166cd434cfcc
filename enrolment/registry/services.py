"""Registry sync: verified enrolments claimed into batches (the PostgreSQL outbox), sent to the
central registry exactly once, and the registry's answer written back per record.

The life of a batch:

    claim (verified → queued) ─► pending ─► sending ─► completed (queued → active | rejected)
                                   ▲   ▲       │ 202
                                   │   │       ▼
          transient failure, ──────┘   └──── polling
          lease expired (sweeper)              (any failure past the cap, or a refusal) ─► failed
          operator retry ◄──────────────────────────────────────────────────────────────────┘

Exactly once, in short (the argument in full: docs/decisions.md, "Registry sync"):
- a claim takes verified rows with FOR UPDATE SKIP LOCKED and moves them to `queued` in the same
  transaction that creates their batch, so two claimers never take the same enrolment, and a
  partial unique index allows one open batch item per enrolment;
- a batch's id (the Idempotency-Key) and body are fixed when it is claimed; every resend (retry,
  sweeper, operator) sends those same bytes under that same key, and the registry answers a
  repeated key with its first answer: a record is never sent under a second key;
- results are applied under a row lock on the batch, once (a completed batch is never applied
  again), and each enrolment moves only along SYSTEM_TRANSITIONS.
Only the lease holder sends (a conditional UPDATE); the lease avoids wasted calls, the argument
above does not depend on it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import NotFound, ServiceError
from config.locks import lock_keys
from config.queues import nudge
from enrolment.models import Enrolment, RegistryStatus, Status
from enrolment.registry import sql
from enrolment.registry.client import (
    BatchAnswer,
    BatchNotFound,
    HttpRegistryClient,
    RegistryAuthFailed,
    RegistryClient,
    RegistryError,
    RegistryUnavailable,
)
from enrolment.registry.models import (
    OPEN_BATCH_STATUSES,
    BatchStatus,
    ItemOutcome,
    RegistryBatch,
    RegistryBatchItem,
)
from enrolment.registry.records import MAX_BATCH_RECORDS, batch_body, encode, fit_records, record_rows, registry_record
from enrolment.registry.selectors import registry_batches_due, registry_batches_visible
from enrolment.workflow import may_move
from villages.audit import Actor, AuditEntry, audit_event, audit_events
from villages.models import AuditAction
from workers.nik_status import nik_status_from_registry, registry_answer_status

logger = logging.getLogger(__name__)

# The system's reason when the registry rejects a record without saying why.
REJECTED_WITHOUT_REASON = "rejected by the registry"


class RegistryNotConfigured(ServiceError):
    code = "registry_not_configured"
    status_code = 503
    default_message = _("The central registry is not configured (REGISTRY_URL).")


class BatchNotRetryable(ServiceError):
    code = "batch_not_retryable"
    status_code = 409
    default_message = _("This batch completed; there is nothing to retry.")


# --- the client ----------------------------------------------------------------------------------

_clients: dict[tuple[Any, ...], HttpRegistryClient] = {}
_clients_lock = threading.Lock()


def registry_configured() -> bool:
    return bool(settings.REGISTRY_URL)


def registry_client() -> RegistryClient:
    """The HTTP client for the configured registry, one per process (it pools connections)."""
    if not registry_configured():
        raise RegistryNotConfigured()
    key = (
        os.getpid(),  # never share a pool across a fork
        settings.REGISTRY_URL,
        settings.REGISTRY_PARTNER_ID,
        settings.REGISTRY_API_KEY,
        settings.REGISTRY_CONNECT_TIMEOUT,
        settings.REGISTRY_READ_TIMEOUT,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = HttpRegistryClient(
                base_url=settings.REGISTRY_URL,
                partner_id=settings.REGISTRY_PARTNER_ID,
                api_key=settings.REGISTRY_API_KEY,
                connect_timeout=settings.REGISTRY_CONNECT_TIMEOUT,
                read_timeout=settings.REGISTRY_READ_TIMEOUT,
            )
        return client


# --- claiming ----------------------------------------------------------------------------------------


def registry_batch_claim(*, size: int | None = None) -> RegistryBatch | None:
    """Moves up to `size` verified enrolments (oldest first) into one new batch: verified → queued,
    audited, with the batch's body frozen. Returns None when nothing is left to claim.

    Safe with any number of claimers at once: rows are locked with FOR UPDATE SKIP LOCKED, so a
    claimer never waits for another and never takes a row another has taken.
    """
    with transaction.atomic():
        return _claim(size=size or settings.REGISTRY_BATCH_SIZE)


def _claim(*, size: int) -> RegistryBatch | None:
    """The claim itself; must run inside a transaction (the locks last until it commits)."""
    rows = list(
        record_rows(
            Enrolment.objects.filter(
                status=Status.VERIFIED,
                deleted_at__isnull=True,
                needs_correction=False,
                # A worker flagged or deleted after verification waits until corrected.
                worker__deleted_at__isnull=True,
                worker__needs_correction=False,
            )
            # Oldest first along the (status, updated_at) index: a claim reads 1,000 index entries,
            # not every verified row (a tie-breaker on id would sort them all).
            .order_by("updated_at")
            .select_for_update(skip_locked=True, of=("self",))
        )[: max(1, min(size, MAX_BATCH_RECORDS))]
    )
    rows = [row for row in rows if may_move(None, row["status"], Status.QUEUED)]
    if not rows:
        return None
    now = timezone.now()
    batch_id = uuid.uuid4()
    # Whatever does not fit in the byte limit stays verified for the next batch.
    fitting, body = fit_records(batch_id, now, rows)
    rows = [dict(row) for row in fitting]
    batch = RegistryBatch.objects.create(
        id=batch_id, status=BatchStatus.PENDING, payload=body, record_count=len(rows), next_attempt_at=now
    )
    sql.insert_items(batch_id, [(row["id"], row["village_id"]) for row in rows])
    Enrolment.objects.filter(id__in=[row["id"] for row in rows]).update(
        status=Status.QUEUED,
        status_reason="",
        status_changed_at=now,
        status_changed_by=None,
        version=F("version") + 1,
        updated_at=now,
        updated_by=None,
    )
    context = {"batch": str(batch_id)}
    moved = {"status": [Status.VERIFIED, Status.QUEUED]}
    audit_events(
        Actor.system(),
        [AuditEntry(AuditAction.STATUS, "enrolment", row["id"], row["village_id"], moved, context) for row in rows],
    )
    return batch


# --- sending -----------------------------------------------------------------------------------------


@dataclass
class SendOutcome:
    batch_id: str
    # The batch's status after this attempt, or "skipped" (not due, or another worker holds it).
    state: str
    # Seconds until the batch is due again (a pending or polling batch), else None.
    retry_in: float | None = None
    registry_ms: float | None = None


def retry_delay(failures: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt after `failures` failures in a row: exponential from
    REGISTRY_RETRY_BASE_SECONDS, capped at REGISTRY_RETRY_MAX_SECONDS, with "equal jitter" (half
    fixed, half random) so batches that failed together do not come back together; never sooner
    than the registry's Retry-After (itself capped)."""
    ceiling = min(settings.REGISTRY_RETRY_MAX_SECONDS, settings.REGISTRY_RETRY_BASE_SECONDS * 2 ** max(0, failures - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not a secret)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.REGISTRY_RETRY_AFTER_MAX_SECONDS))
    return delay


def registry_batch_send(*, batch_id: str, client: RegistryClient | None = None) -> SendOutcome:
    """One attempt at a due batch: take its lease, send it (or poll it after a 202), and record
    what happened. Idempotent and safe to run twice at once: a batch that is not due, or that
    another worker holds, is `skipped`. Never raises for what the registry does."""
    token = uuid.uuid4().hex
    now = timezone.now()
    leased = RegistryBatch.objects.filter(
        pk=batch_id, status__in=(BatchStatus.PENDING, BatchStatus.POLLING), next_attempt_at__lte=now
    ).update(
        status=BatchStatus.SENDING,
        lease_owner=token,
        lease_expires_at=now + dt.timedelta(seconds=settings.REGISTRY_LEASE_SECONDS),
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        next_attempt_at=None,
    )
    if not leased:
        return SendOutcome(batch_id=str(batch_id), state="skipped")
    batch = RegistryBatch.objects.get(pk=batch_id)
    if batch.first_sent_at is None:
        RegistryBatch.objects.filter(pk=batch_id, first_sent_at__isnull=True).update(first_sent_at=now)
    refs = list(batch.items.values_list("enrolment_id", flat=True))
    try:
        client = client or registry_client()
        if batch.acknowledged:
            answer = client.poll_batch(batch_id=str(batch.id), refs=refs)
        else:
            answer = client.submit_batch(batch_id=str(batch.id), body=batch.payload.encode(), refs=refs)
    except BatchNotFound as lost:
        # The registry does not know a batch it had acknowledged: send it again, same key and body.
        forgotten = RegistryUnavailable(lost.code, lost.message, http_status=lost.http_status)
        return _after_failure(batch.id, token, forgotten, acknowledged=False)
    except RegistryError as error:
        return _after_failure(batch.id, token, error)
    except RegistryNotConfigured as error:
        return _after_failure(batch.id, token, RegistryUnavailable(error.code, str(error.message)))
    if not answer.completed:
        return _after_processing(batch.id, token, answer)
    return _apply_results(batch.id, answer)


def _locked_lease(batch_id: uuid.UUID, token: str) -> RegistryBatch | None:
    """The batch, row-locked, if this attempt still holds its lease (the sweeper may have taken it)."""
    batch = RegistryBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status != BatchStatus.SENDING or batch.lease_owner != token:
        return None
    return batch


# Everything but the id and the payload (~0.5 MB, written once at the claim).
STATE_FIELDS = [f.name for f in RegistryBatch._meta.concrete_fields if f.name not in ("id", "payload", "created_at")]


def _save_state(batch: RegistryBatch, *extra: str) -> None:
    batch.save(update_fields=[*STATE_FIELDS, *extra])


def _release(batch: RegistryBatch) -> None:
    batch.lease_owner, batch.lease_expires_at = "", None


def _after_processing(batch_id: uuid.UUID, token: str, answer: BatchAnswer) -> SendOutcome:
    """202 (or a poll saying "processing"): stored at the registry; poll again later."""
    with transaction.atomic():
        batch = _locked_lease(batch_id, token)
        if batch is None:
            return SendOutcome(batch_id=str(batch_id), state="skipped")
        _release(batch)
        batch.status, batch.acknowledged, batch.failures = BatchStatus.POLLING, True, 0
        batch.next_attempt_at = timezone.now() + dt.timedelta(seconds=settings.REGISTRY_POLL_SECONDS)
        _save_state(batch)
    return SendOutcome(
        batch_id=str(batch_id),
        state=batch.status,
        retry_in=settings.REGISTRY_POLL_SECONDS,
        registry_ms=answer.registry_ms,
    )


def _after_failure(
    batch_id: uuid.UUID, token: str, error: RegistryError, *, acknowledged: bool | None = None
) -> SendOutcome:
    with transaction.atomic():
        batch = _locked_lease(batch_id, token)
        if batch is None:
            return SendOutcome(batch_id=str(batch_id), state="skipped")
        _release(batch)
        if acknowledged is not None:
            batch.acknowledged = acknowledged
        retry_in = _record_failure(batch, error, timezone.now())
        _save_state(batch)
    return SendOutcome(batch_id=str(batch_id), state=batch.status, retry_in=retry_in)


def _record_failure(batch: RegistryBatch, error: RegistryError, now: dt.datetime) -> float | None:
    """Writes the failure on `batch` (not saved) and reschedules it, or fails it: a refusal at once,
    a transient failure once the cap is passed. Returns the delay when rescheduled."""
    batch.last_error_code = error.code[:64]
    batch.last_error_message = error.message
    batch.last_error_status = error.http_status
    batch.last_error_details = error.details
    batch.last_error_at = now
    if error.transient:
        batch.failures += 1
        if batch.failures <= settings.REGISTRY_MAX_RETRIES:
            delay = retry_delay(batch.failures, error.retry_after)
            batch.status = BatchStatus.POLLING if batch.acknowledged else BatchStatus.PENDING
            batch.next_attempt_at = now + dt.timedelta(seconds=delay)
            logger.info("registry batch %s: %s, attempt again in %.1f s", batch.id, error, delay)
            return delay
    batch.status, batch.next_attempt_at, batch.failed_at = BatchStatus.FAILED, None, now
    if isinstance(error, RegistryAuthFailed):
        # Nothing gets through until the credentials are fixed: this needs a person now.
        logger.error("registry refused our credentials (batch %s): %s", batch.id, error)
    else:
        logger.error("registry batch %s failed: %s", batch.id, error)
    index = error.details.get("index")
    if error.http_status == 400 and isinstance(index, int):
        # The registry named the record that sank the batch: show it on that record.
        RegistryBatchItem.objects.filter(batch=batch, position=index).update(
            error={"code": error.code, "field": error.details.get("field", ""), "message": error.message}
        )
    return None


def _apply_results(batch_id: uuid.UUID, answer: BatchAnswer) -> SendOutcome:
    """Writes the registry's results on each record: accepted or duplicate → active with the
    participant number; rejected → rejected with the registry's reason (the device sees it on its
    next pull, and the enrolment can be corrected and submitted again). The worker's NIK status
    follows: verified when accepted, not_found / mismatch for those reason codes. Applied once: a completed
    batch is left alone, whoever holds the lease (the answer is the registry's, for this key)."""
    now = timezone.now()
    with transaction.atomic():
        batch = RegistryBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status == BatchStatus.COMPLETED:
            return SendOutcome(batch_id=str(batch_id), state=batch.status)
        results = {result.ref: result for result in answer.results}
        items = list(batch.items.filter(outcome=ItemOutcome.PENDING).only("id", "batch_id", "enrolment_id"))
        enrolment_ids = [item.enrolment_id for item in items]
        # The workers' locks before the enrolments' rows (config/locks.py's order; a worker's save
        # takes its lock, then moves its enrolments). The NIK status written below is a column a
        # worker's save also writes, from the row it read under that lock: unlocked, a save in
        # flight would put the old status (and version) back over the registry's answer.
        workers = set(Enrolment.objects.filter(id__in=enrolment_ids).values_list("worker_id", flat=True))
        lock_keys("worker", workers)
        current = {
            enrolment_id: (status, village, worker)
            for enrolment_id, status, village, worker in Enrolment.objects.filter(id__in=enrolment_ids)
            .select_for_update()
            .values_list("id", "status", "village_id", "worker_id")
        }
        if moved := {worker for _, _, worker in current.values()} - workers:
            # A merge moved enrolments to their survivor between the two reads (it held both
            # workers' locks, now released): lock the survivors too. Out of order, but only in
            # this race; a deadlock with a save would be detected by PostgreSQL and the batch retried.
            lock_keys("worker", moved)
        nik_answers: dict[str, tuple[str, str]] = {}  # worker id → what the registry says of its NIK
        registered: dict[str, str] = {}
        rejected: dict[str, str] = {}
        events: list[AuditEntry] = []
        for item in items:
            result = results[item.enrolment_id]
            item.outcome, item.participant_number = result.outcome, result.participant_number
            item.reason_code, item.reason = result.reason_code, result.reason
            status, village, worker_id = current[item.enrolment_id]
            said = registry_answer_status(result.outcome, result.reason_code, result.reason)
            if said is not None:
                nik_answers[worker_id] = said
            target = Status.REJECTED if result.outcome == ItemOutcome.REJECTED else Status.ACTIVE
            if not may_move(None, status, target):
                # Cannot happen while only the sync moves queued enrolments; the item keeps the answer.
                logger.warning(
                    "registry result %s for %s not applied: it is %s", result.outcome, item.enrolment_id, status
                )
                continue
            context = {"batch": str(batch_id), "outcome": result.outcome}
            if target == Status.ACTIVE:
                registered[item.enrolment_id] = result.participant_number
                changes = {"status": [status, target], "registry_number": ["", result.participant_number]}
            else:
                rejected[item.enrolment_id] = result.reason or result.reason_code or REJECTED_WITHOUT_REASON
                changes = {"status": [status, target]}
                context["reason_code"] = result.reason_code
            events.append(AuditEntry(AuditAction.STATUS, "enrolment", item.enrolment_id, village, changes, context))
        sql.update_enrolments(
            registered,
            column="registry_number",
            fixed={
                "status": Status.ACTIVE,
                "status_reason": "",
                "synced_at": now,
                "registry_status": RegistryStatus.ACTIVE,
                "registry_status_date": timezone.localdate(now),
            },
            now=now,
        )
        sql.update_enrolments(
            rejected, column="status_reason", fixed={"status": Status.REJECTED, "synced_at": now}, now=now
        )
        sql.update_items(items, now)
        audit_events(Actor.system(), events)
        nik_status_from_registry(nik_answers, batch=str(batch_id))
        counts = dict.fromkeys(ItemOutcome.values, 0)
        counts.update(batch.items.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n"))
        _release(batch)
        batch.status, batch.completed_at, batch.next_attempt_at = BatchStatus.COMPLETED, now, None
        batch.accepted_count = counts[ItemOutcome.ACCEPTED]
        batch.duplicate_count = counts[ItemOutcome.DUPLICATE]
        batch.rejected_count = counts[ItemOutcome.REJECTED]
        batch.registry_ms = answer.registry_ms
        # A completed batch is never sent again: its copy of the records (full NIKs, names,
        # incomes) has no use left, and personal data is kept no longer than needed (UU 27/2022).
        batch.payload = ""
        _save_state(batch, "payload")
    return SendOutcome(batch_id=str(batch_id), state=batch.status, registry_ms=answer.registry_ms)


# --- sweeping and scheduling -------------------------------------------------------------------------


def registry_batches_sweep() -> int:
    """Batches whose lease ran out (the worker sending them died or hung) become due again, to be
    sent under the same id with the same body. Counted as a failure, so a batch that kills every
    worker that touches it ends `failed` instead of looping. Returns how many were swept."""
    now = timezone.now()
    with transaction.atomic():
        stuck = list(
            RegistryBatch.objects.filter(status=BatchStatus.SENDING, lease_expires_at__lt=now).select_for_update(
                skip_locked=True
            )
        )
        for batch in stuck:
            _release(batch)
            _record_failure(batch, RegistryUnavailable("lease_expired", "the worker sending it stopped"), now)
            _save_state(batch)
    return len(stuck)


@dataclass
class CycleReport:
    swept: int = 0
    batches: int = 0
    records: int = 0
    due: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {"swept": self.swept, "batches": self.batches, "records": self.records, "due": len(self.due)}


def registry_sync_cycle(*, full: bool = False) -> CycleReport:
    """One cycle: sweep stuck batches, claim verified enrolments into new batches (up to
    REGISTRY_BATCHES_PER_CYCLE, or all of them on a full pass), and list the batches now due.
    Sending is the caller's (Celery tasks, or the management command in the foreground)."""
    report = CycleReport(swept=registry_batches_sweep())
    while full or report.batches < settings.REGISTRY_BATCHES_PER_CYCLE:
        batch = registry_batch_claim()
        if batch is None:
            break
        report.batches += 1
        report.records += batch.record_count
    report.due = registry_batches_due()
    return report


def registry_nudge(batch_ids: Iterable[str]) -> None:
    """Asks the Celery workers to send these batches, once the current transaction has committed.

    Only a nudge: the batch rows are the outbox. A nudge lost (the broker down or restarted) is
    made good by the next periodic cycle, which lists every due batch again."""
    ids = [str(batch_id) for batch_id in batch_ids]
    if not ids:
        return

    def send() -> None:
        from enrolment.registry.tasks import registry_send_batch

        for batch_id in ids:
            if not nudge(registry_send_batch, batch_id, fallback="the periodic cycle will send it"):
                return  # the broker is down: the rest would fail alike

    transaction.on_commit(send)


# --- operators -------------------------------------------------------------------------------------


@dataclass
class RetryOutcome:
    batch: RegistryBatch
    retried: bool  # False: it was already on its way (a repeated request)


@transaction.atomic
def registry_batch_retry(*, actor: Actor, batch_id: str) -> RetryOutcome:
    """An operator sends a failed batch again. Idempotent: a batch already on its way is left as it
    is (`retried` False). 404 outside the caller's scope, 409 `batch_not_retryable` if completed.

    The body is rebuilt from the records' current data only when the registry refused the batch
    as malformed (400): such a batch was not stored under its key (a stored batch would have been
    answered with its first answer), so the corrected body is a first submission. Any other
    failure resends the same bytes, so a batch the registry may hold is never sent differently.
    """
    assert actor.user is not None
    try:
        uuid.UUID(str(batch_id))
    except ValueError:
        raise NotFound() from None
    batch = registry_batches_visible(user=actor.user).select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound()
    if batch.status in OPEN_BATCH_STATUSES:
        return RetryOutcome(batch=batch, retried=False)
    if batch.status == BatchStatus.COMPLETED:
        raise BatchNotRetryable()
    now = timezone.now()
    rebuild = batch.last_error_status == 400
    if rebuild:
        _rebuild_payload(batch, now)
    source = batch.status
    batch.status = BatchStatus.POLLING if batch.acknowledged else BatchStatus.PENDING
    batch.failures, batch.next_attempt_at, batch.failed_at = 0, now, None
    batch.retried_at, batch.retried_by = now, actor.user
    _save_state(batch, *(["payload"] if rebuild else []))
    audit_event(
        actor,
        AuditAction.STATUS,
        "registry_batch",
        str(batch.id),
        changes={"status": [source, batch.status]},
        context={"rebuilt": rebuild, "last_error": batch.last_error_code},
    )
    registry_nudge([str(batch.id)])
    return RetryOutcome(batch=batch, retried=True)


def _rebuild_payload(batch: RegistryBatch, now: dt.datetime) -> None:
    ids = list(batch.items.order_by("position").values_list("enrolment_id", flat=True))
    rows = {row["id"]: row for row in record_rows(Enrolment.objects.filter(id__in=ids))}
    batch.payload = batch_body(batch.id, now, [encode(registry_record(rows[i])) for i in ids])
    batch.payload_rebuilt_at = now
    RegistryBatchItem.objects.filter(batch=batch).exclude(error={}).update(error={})


def registry_sync_request(*, actor: Actor) -> bool:
    """ "Sync now": starts one cycle soon. Requests within REGISTRY_SYNC_NOW_COALESCE_SECONDS of each
    other start one cycle (returns False for the later ones). 503 when no registry is configured."""
    if not registry_configured():
        raise RegistryNotConfigured()
    try:
        fresh = cache.add("registry:sync-now", 1, settings.REGISTRY_SYNC_NOW_COALESCE_SECONDS)
    except redis.RedisError:
        fresh = True  # no shared cache to coalesce with: one cycle more is harmless
    if not fresh:
        return False

    def start() -> None:
        from enrolment.registry.tasks import registry_sync

        nudge(registry_sync, fallback="the periodic cycle will run")

    transaction.on_commit(start)
    return True
