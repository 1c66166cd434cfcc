"""`manage.py sync_registry`: one registry sync cycle in the foreground, without Celery.

Sweeps stuck batches, claims every verified enrolment into batches and sends each batch as soon
as it is claimed (several at once, --concurrency), then sends whatever else is due. Batches that
hit a transient failure wait for their next attempt: --wait keeps going until no batch is on its
way; --every N repeats the cycle every N seconds (the embedded mode's scheduler). Same services
as the Celery tasks, so the same guarantees.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from enrolment.registry import reconciliation, selectors, services
from enrolment.registry.client import RegistryError
from enrolment.registry.models import OPEN_BATCH_STATUSES, BatchStatus, RegistryBatch

T = TypeVar("T")


class Command(BaseCommand):
    help = "Runs one registry sync cycle in the foreground (sweep, claim, send)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--concurrency", type=int, default=4, help="batches sent at once (default 4; 1: all in this thread)"
        )
        parser.add_argument("--wait", action="store_true", help="keep going until no batch is on its way")
        parser.add_argument("--reconcile", action="store_true", help="also apply the registry's status changes")
        parser.add_argument("--every", type=float, metavar="SECONDS", help="repeat forever, this many seconds apart")

    def handle(self, *args: Any, **options: Any) -> None:
        if not services.registry_configured():
            raise CommandError("REGISTRY_URL is not set: there is no registry to sync with.")
        if options["every"]:
            self._forever(options)
            return
        self._cycle(options)

    def _forever(self, options: dict[str, Any]) -> None:
        while True:
            try:
                self._cycle(options)
            except Exception as problem:  # a bad cycle must not stop the scheduler; the next one retries
                self.stderr.write(f"registry sync cycle failed: {problem!r}")
            time.sleep(options["every"])

    def _cycle(self, options: dict[str, Any]) -> None:
        started = time.perf_counter()
        swept = services.registry_batches_sweep()
        claimed = records = 0
        pool: Executor = ThreadPoolExecutor(options["concurrency"]) if options["concurrency"] > 1 else _Here()
        with pool:
            sending: dict[str, Future[services.SendOutcome]] = {}
            # Send each batch as soon as it is claimed: the registry works while we claim the next.
            while (batch := services.registry_batch_claim()) is not None:
                claimed, records = claimed + 1, records + batch.record_count
                sending[str(batch.id)] = pool.submit(_send, str(batch.id))
            for batch_id in selectors.registry_batches_due():
                if batch_id not in sending:
                    sending[batch_id] = pool.submit(_send, batch_id)
            for future in sending.values():
                future.result()
            while options["wait"] and _open_batches():
                services.registry_batches_sweep()
                delay = _seconds_until_due()
                if delay > 0:
                    time.sleep(min(delay, 5.0))
                    continue
                for future in [pool.submit(_send, batch_id) for batch_id in selectors.registry_batches_due()]:
                    future.result()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"registry sync: {records} records claimed in {claimed} batches, {swept} swept, "
            f"{_status_line()} ({elapsed:.1f} s)"
        )
        if options["reconcile"]:
            try:
                report = reconciliation.registry_reconcile()
            except RegistryError as error:
                self.stderr.write(f"registry reconciliation failed, next time: {error}")
            else:
                self.stdout.write(
                    f"registry changes: {report.changes} read, {report.applied} applied, "
                    f"{report.unchanged} already applied, {report.unmatched} unmatched"
                )


class _Here(Executor):
    """--concurrency 1: every batch in this thread, on this thread's database connection."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as problem:
            future.set_exception(problem)
        return future


def _send(batch_id: str) -> services.SendOutcome:
    try:
        return services.registry_batch_send(batch_id=batch_id)
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close()  # a pool thread's own connection


def _open_batches() -> bool:
    return RegistryBatch.objects.filter(status__in=OPEN_BATCH_STATUSES).exists()


def _seconds_until_due() -> float:
    """Seconds until the next batch is due; 0 when one is due now or one is being sent elsewhere."""
    if RegistryBatch.objects.filter(status=BatchStatus.SENDING).exists():
        return 1.0
    soonest = RegistryBatch.objects.filter(status__in=OPEN_BATCH_STATUSES).aggregate(at=Min("next_attempt_at"))["at"]
    if soonest is None:
        return 0.0
    return max(0.0, (soonest - timezone.now()).total_seconds())


def _status_line() -> str:
    counts = dict.fromkeys(BatchStatus.values, 0)
    counts.update(RegistryBatch.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return ", ".join(f"{counts[status]} {status}" for status in BatchStatus.values)
