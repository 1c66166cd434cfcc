"""Celery discovers tasks in `<app>.tasks`; the enrolment app's live with the code they run."""

from enrolment.registry.tasks import registry_reconcile, registry_send_batch, registry_sync

__all__ = ["registry_reconcile", "registry_send_batch", "registry_sync"]
