"""Celery tasks of the registry sync: thin, taking ids, calling one service each.

Every task is idempotent (the state is in PostgreSQL, the services check it), so they are
acknowledged late and given back to the queue if their worker dies. Retries are for transient
failures only; the cap on them is the batch's `failures` count in the database (REGISTRY_MAX_RETRIES),
which survives lost messages and dead workers, unlike a counter in a message. Without REDIS_URL
tasks run in-process (eager) and do not retry themselves: the next cycle (the management
command's loop, or "sync now") picks up what is due.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from enrolment.registry import reconciliation, services
from enrolment.registry.client import RegistryError

logger = logging.getLogger(__name__)


@shared_task(name="enrolment.registry.sync", ignore_result=True, acks_late=True)
def registry_sync(full: bool = False) -> dict[str, int]:
    """One cycle (sweep, claim, list what is due), then a nudge per due batch."""
    if not services.registry_configured():
        logger.warning("registry sync skipped: REGISTRY_URL is not set")
        return {}
    report = services.registry_sync_cycle(full=full)
    services.registry_nudge(report.due)
    return report.summary()


@shared_task(
    bind=True,
    name="enrolment.registry.send_batch",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # capped by the batch's failure count in the database (see above)
)
def registry_send_batch(self: Task, batch_id: str) -> str:
    """One attempt at one batch; schedules the next (backoff with jitter, Retry-After, or the poll
    interval after a 202) while the batch is still on its way."""
    outcome = services.registry_batch_send(batch_id=batch_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@shared_task(bind=True, name="enrolment.registry.reconcile", ignore_result=True, acks_late=True, max_retries=None)
def registry_reconcile(self: Task) -> dict[str, Any]:
    """Applies the registry's status changes since the stored cursor."""
    if not services.registry_configured():
        logger.warning("registry reconciliation skipped: REGISTRY_URL is not set")
        return {}
    try:
        return reconciliation.registry_reconcile().summary()
    except RegistryError as error:
        retries = self.request.retries or 0
        if not error.transient or self.request.is_eager or retries >= settings.REGISTRY_MAX_RETRIES:
            raise
        raise self.retry(countdown=services.retry_delay(retries + 1, error.retry_after)) from error
