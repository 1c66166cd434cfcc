"""The outbox of single registry calls: death and end events, payments (RegistryMessage).

    pending ─► (lease, send) ─► sent
       ▲  │ transient failure: attempts + 1, next attempt after a capped, jittered backoff
       └──┘ refusal (4xx but 429): failed, with the registry's error kept

Exactly once at the registry: a message is written in the transaction of the change it reports
(`message_put`, idempotent on `dedupe_key`), with its key (the message id) and body fixed; every
send repeats them, and the registry answers a repeated key and body with its first answer. A
send whose answer is lost (timeout, dropped connection) is simply sent again. Only the lease
holder sends (a conditional UPDATE claims due messages with FOR UPDATE SKIP LOCKED); the lease
saves wasted calls, the argument above does not rely on it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.queues import nudge
from enrolment.funding.models import MessageKind, MessageStatus, RegistryMessage
from enrolment.registry.client import RegistryClient, RegistryError, RegistryRateLimited
from enrolment.registry.services import registry_client, registry_configured

logger = logging.getLogger(__name__)


def message_put(*, kind: str, dedupe_key: str, path: str, body: Mapping[str, Any]) -> RegistryMessage:
    """Writes a message in the caller's transaction, once per `dedupe_key` (a second call
    returns the first message unchanged), and nudges the sender after commit."""
    message, created = RegistryMessage.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "kind": kind,
            "path": path,
            "body": json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
            "next_attempt_at": timezone.now(),
        },
    )
    if created:
        transaction.on_commit(_nudge)
    return message


def _nudge() -> None:
    from enrolment.funding.tasks import registry_messages_send

    if not registry_configured():
        return
    nudge(registry_messages_send, fallback="the beat schedule will send them")


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def _claim(limit: int, lease: dt.timedelta) -> list[RegistryMessage]:
    now = timezone.now()
    with transaction.atomic():
        due = list(
            RegistryMessage.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.PENDING, next_attempt_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_attempt_at", "created_at")[:limit]
        )
        RegistryMessage.objects.filter(id__in=[m.id for m in due]).update(lease_until=now + lease)
    return due


def _backoff(attempts: int, retry_after: float | None) -> dt.timedelta:
    base = settings.REGISTRY_RETRY_BASE_SECONDS * 2 ** min(attempts - 1, 16)
    delay = min(settings.REGISTRY_RETRY_MAX_SECONDS, base) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
    return dt.timedelta(seconds=max(delay, retry_after or 0))


def registry_messages_send(*, client: RegistryClient | None = None, limit: int = 200) -> SendReport:
    """Sends the due messages once each. Safe to run anywhere, any number of times at once."""
    report = SendReport()
    messages = _claim(limit, dt.timedelta(seconds=settings.REGISTRY_LEASE_SECONDS))
    if not messages:
        return report
    client = client or registry_client()
    for message in messages:
        attempts = message.attempts + 1
        try:
            status = client.post_message(path=message.path, key=str(message.id), body=message.body.encode())
        except RegistryError as problem:
            error = f"{problem.code}: {problem.message}"[:1000]
            if problem.transient or isinstance(problem, RegistryRateLimited):
                RegistryMessage.objects.filter(id=message.id).update(
                    attempts=attempts,
                    last_error=error,
                    lease_until=None,
                    next_attempt_at=timezone.now() + _backoff(attempts, problem.retry_after),
                )
                report.retried += 1
            else:
                RegistryMessage.objects.filter(id=message.id).update(
                    attempts=attempts, last_error=error, lease_until=None, status=MessageStatus.FAILED
                )
                logger.error("registry message %s refused: %s", message.id, error)
                report.failed += 1
            continue
        RegistryMessage.objects.filter(id=message.id).update(
            attempts=attempts,
            status=MessageStatus.SENT,
            sent_at=timezone.now(),
            lease_until=None,
            last_error="",
            answer={"status": status},
        )
        report.sent += 1
    return report


def death_event_put(*, worker_id: str, participant_number: str, date: dt.date, cause: str) -> RegistryMessage:
    """The registry's death event for a participant: once per person."""
    return message_put(
        kind=MessageKind.EVENT,
        dedupe_key=f"death:{worker_id}",
        path=f"/v1/participants/{participant_number}/events",
        body={"type": "death", "date": date.isoformat(), "cause": cause},
    )
