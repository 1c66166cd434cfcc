"""Reads of registry batches shared by the services, the views and the management command."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from enrolment.registry.models import BatchStatus, RegistryBatch, RegistryBatchItem
from villages.models import User
from villages.scope import scope_of


def registry_batches_due(*, limit: int | None = None) -> list[str]:
    """Ids of the batches waiting to be sent or polled whose time has come, the most overdue first."""
    due = (
        RegistryBatch.objects.filter(
            status__in=(BatchStatus.PENDING, BatchStatus.POLLING), next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)
    )
    return [str(batch_id) for batch_id in (due[:limit] if limit else due)]


def registry_batches_visible(*, user: User) -> QuerySet[RegistryBatch]:
    """Batches holding at least one record in the caller's areas (a batch may span villages)."""
    scope = scope_of(user)
    if scope.everything:
        return RegistryBatch.objects.all()
    in_scope = RegistryBatchItem.objects.filter(scope.q("village__code")).values("batch_id")
    return RegistryBatch.objects.filter(id__in=in_scope)
