"""The background half of an import (in-process without REDIS_URL)."""

from __future__ import annotations

from celery import shared_task

from enrolment.imports.invalid_rows import invalid_rows_prune
from enrolment.imports.services import import_job_run


# acks_late: a job is resumable and safe to run twice (see services), so a worker lost mid-file
# hands it to another instead of dropping it.
@shared_task(name="enrolment.imports.run", acks_late=True, reject_on_worker_lost=True)
def import_run(job_id: str) -> None:
    import_job_run(job_id=job_id)


@shared_task(name="enrolment.imports.prune_invalid_rows")
def prune_invalid_rows() -> None:
    invalid_rows_prune()
