"""Housekeeping of the offline sync (Celery beat)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from villages.sync_clock import prune_snapshots


@shared_task(name="enrolment.sync.prune_snapshots", ignore_result=True)
def sync_prune_snapshots() -> int:
    return prune_snapshots(older_than_days=settings.SYNC_SNAPSHOT_RETENTION_DAYS)
