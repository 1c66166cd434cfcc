"""The background half of an import (in-process without REDIS_URL)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from config.dberrors import busy_reason
from enrolment.imports.services import import_job_run, import_jobs_sweep


# acks_late: a job is resumable and safe to run twice (see services), so a worker lost mid-file
# hands it to another instead of dropping it. A database refusing for load (lock table full, a
# timeout, a deadlock) is tried again a little later; the job stays running meanwhile, and if the
# retries are lost too, the sweeper starts it again.
@shared_task(name="enrolment.imports.run", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=10)
def import_run(self: Any, job_id: str) -> None:
    try:
        import_job_run(job_id=job_id)
    except OperationalError as problem:
        if busy_reason(problem) is None:
            raise
        raise self.retry(countdown=settings.SERVICE_BUSY_RETRY_AFTER) from problem


@shared_task(name="enrolment.imports.sweep")
def import_sweep() -> dict[str, int]:
    return import_jobs_sweep()
