"""Registry batches on the wire (plain functions; the DRF serializers only describe them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from config.formats import iso_datetime
from enrolment.registry.models import BatchStatus, ItemOutcome, RegistryBatch, RegistryBatchItem


def batch_representation(batch: RegistryBatch, *, items: Iterable[RegistryBatchItem] | None = None) -> dict[str, Any]:
    """The batch's own state (the same for every caller who may see it) and, for the detail, the
    results of the records in the caller's areas."""
    settled = batch.accepted_count + batch.duplicate_count + batch.rejected_count
    body: dict[str, Any] = {
        "id": str(batch.id),
        "status": batch.status,
        "record_count": batch.record_count,
        "outcomes": {
            ItemOutcome.PENDING: batch.record_count - settled,
            ItemOutcome.ACCEPTED: batch.accepted_count,
            ItemOutcome.DUPLICATE: batch.duplicate_count,
            ItemOutcome.REJECTED: batch.rejected_count,
        },
        "attempts": batch.attempts,
        "failures": batch.failures,
        "next_attempt_at": iso_datetime(batch.next_attempt_at),
        "last_error": (
            {
                "code": batch.last_error_code,
                "message": batch.last_error_message,
                "http_status": batch.last_error_status,
                "details": batch.last_error_details,
                "at": iso_datetime(batch.last_error_at),
            }
            if batch.last_error_code
            else None
        ),
        "created_at": iso_datetime(batch.created_at),
        "first_sent_at": iso_datetime(batch.first_sent_at),
        "completed_at": iso_datetime(batch.completed_at),
        "failed_at": iso_datetime(batch.failed_at),
        "retried_at": iso_datetime(batch.retried_at),
    }
    if items is not None:
        body["results"] = [item_representation(item) for item in items]
    return body


def item_representation(item: RegistryBatchItem) -> dict[str, Any]:
    return {
        "enrolment": item.enrolment_id,
        "village": item.village_id,
        "position": item.position,
        "outcome": item.outcome,
        "participant_number": item.participant_number or None,
        "reason_code": item.reason_code or None,
        "reason": item.reason or None,
        "error": item.error or None,
    }


# --- schema descriptions -------------------------------------------------------------------------


class BatchFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(
        choices=BatchStatus.choices, required=False, help_text="Repeat for several: ?status=failed&status=pending."
    )


class BatchErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The registry's error code, or ours (timeout, answer_lost, lease_expired…).")
    message = serializers.CharField()
    http_status = serializers.IntegerField(allow_null=True)
    details = serializers.DictField(help_text="e.g. {index, field} when the registry names the record at fault.")
    at = serializers.DateTimeField()


class BatchItemSerializer(serializers.Serializer):
    enrolment = serializers.CharField()
    village = serializers.CharField()
    position = serializers.IntegerField(help_text="The record's index in the batch.")
    outcome = serializers.ChoiceField(choices=ItemOutcome.choices)
    participant_number = serializers.CharField(allow_null=True, help_text="KPJ, for accepted and duplicate.")
    reason_code = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True, help_text="The registry's reason for a rejection.")
    error = serializers.DictField(
        allow_null=True, help_text="What the registry said about this record when it refused the batch."
    )


class BatchOutcomesSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()


class BatchSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Also the batch_id and Idempotency-Key sent to the registry.")
    status = serializers.ChoiceField(choices=BatchStatus.choices)
    record_count = serializers.IntegerField()
    outcomes = BatchOutcomesSerializer(help_text="Over the whole batch.")
    attempts = serializers.IntegerField(help_text="Calls made to the registry for this batch (sends and polls).")
    failures = serializers.IntegerField(help_text="Transient failures in a row; the batch fails past the cap.")
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_error = BatchErrorSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    first_sent_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    retried_at = serializers.DateTimeField(allow_null=True)


class BatchDetailSerializer(BatchSerializer):
    results = BatchItemSerializer(many=True, help_text="The records of this batch in the caller's areas.")


class SyncRequestSerializer(serializers.Serializer):
    scheduled = serializers.BooleanField(help_text="False: a sync was requested moments ago and covers this one.")
