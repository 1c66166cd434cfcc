"""Housekeeping of the OpenRosa endpoints (Celery beat)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from openrosa.services import pending_attachments_prune


@shared_task(name="openrosa.prune_pending_attachments", ignore_result=True)
def openrosa_prune_pending_attachments() -> int:
    return pending_attachments_prune(older_than_hours=settings.OPENROSA_PENDING_ATTACHMENT_HOURS)
