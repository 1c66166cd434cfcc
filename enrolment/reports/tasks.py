"""Background work of the reports (scheduled in CELERY_BEAT_SCHEDULE, and after each import)."""

from __future__ import annotations

from celery import shared_task

from enrolment.reports.services import coverage_compact


@shared_task(name="enrolment.reports.compact")
def coverage_compact_task() -> None:
    coverage_compact()
