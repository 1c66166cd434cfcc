"""The registry outbox: batches of verified enrolments on their way to the central registry, and
the reconciliation's cursor and log.

A batch row *is* the outbox entry (Redis only carries nudges): its id is the `batch_id` and the
`Idempotency-Key`, and `payload` holds the exact bytes sent, frozen when the batch is claimed, so
every resend of the batch is the same request and the registry answers it with its first answer.
Why this gives exactly-once delivery: docs/decisions.md, "Registry sync".
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.pii import EncryptedTextField
from enrolment.models import Enrolment
from villages.models import Area, User


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENDING = "sending", _("being sent")
    POLLING = "polling", _("accepted by the registry, waiting for its results")
    COMPLETED = "completed", _("completed")
    FAILED = "failed", _("failed: needs an operator")


# Batches still on their way: their enrolments are `queued`.
OPEN_BATCH_STATUSES = (BatchStatus.PENDING, BatchStatus.SENDING, BatchStatus.POLLING)


class RegistryBatch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    status = models.CharField(
        max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING, verbose_name=_("status")
    )
    # The request body, byte for byte (UTF-8 JSON). Rebuilt only by an operator's retry of a batch
    # the registry refused as malformed (a 400 stores nothing at the registry); emptied once the
    # batch completed (it holds personal data and is never sent again). Encrypted at rest
    # (config/pii.py): it holds every record's NIK and phone.
    payload = EncryptedTextField(blank=True, verbose_name=_("payload"))
    record_count = models.PositiveIntegerField(verbose_name=_("record count"))
    # The registry answered 202: the batch is stored there, poll for its results.
    acknowledged = models.BooleanField(default=False, verbose_name=_("acknowledged"))

    # Calls made for this batch (sends and polls), and transient failures since the last progress:
    # the retry cap and the backoff apply to `failures`.
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    failures = models.PositiveIntegerField(default=0, verbose_name=_("failures"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    last_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last attempt at"))
    # Who is sending it now (a random token per attempt) and until when.
    lease_owner = models.CharField(max_length=32, blank=True, verbose_name=_("lease owner"))
    lease_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("lease expires at"))

    last_error_code = models.CharField(max_length=64, blank=True, verbose_name=_("last error code"))
    last_error_message = models.TextField(blank=True, verbose_name=_("last error message"))
    last_error_status = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("last error status")
    )  # HTTP status, if any
    last_error_details = models.JSONField(default=dict, blank=True, verbose_name=_("last error details"))
    last_error_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last error at"))

    accepted_count = models.PositiveIntegerField(default=0, verbose_name=_("accepted count"))
    duplicate_count = models.PositiveIntegerField(default=0, verbose_name=_("duplicate count"))
    rejected_count = models.PositiveIntegerField(default=0, verbose_name=_("rejected count"))
    # The registry's own processing time for the answer (Server-Timing), in milliseconds.
    registry_ms = models.FloatField(null=True, blank=True, verbose_name=_("registry time (ms)"))

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    first_sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("first sent at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    failed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("failed at"))
    retried_at = models.DateTimeField(null=True, blank=True, verbose_name=_("retried at"))
    retried_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("retried by")
    )
    payload_rebuilt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("payload rebuilt at"))

    class Meta:
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["-created_at", "id"]
        verbose_name = _("registry batch")
        verbose_name_plural = _("registry batches")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=BatchStatus.values), name="registry_batch_status_valid"),
            # A batch being sent has a lease; no other batch has one.
            models.CheckConstraint(
                condition=Q(status=BatchStatus.SENDING, lease_expires_at__isnull=False)
                | (~Q(status=BatchStatus.SENDING) & Q(lease_expires_at__isnull=True)),
                name="registry_batch_lease_iff_sending",
            ),
            models.CheckConstraint(
                condition=Q(record_count__gte=1, record_count__lte=1000), name="registry_batch_size"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="registry_batch_due"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status} ({self.record_count})"


class ItemOutcome(models.TextChoices):
    PENDING = "pending", _("waiting for the registry")
    ACCEPTED = "accepted", _("accepted")
    DUPLICATE = "duplicate", _("already registered")
    REJECTED = "rejected", _("rejected")


class RegistryBatchItem(models.Model):
    """One enrolment in one batch, with what the registry said about it."""

    batch = models.ForeignKey(RegistryBatch, on_delete=models.PROTECT, related_name="items", verbose_name=_("batch"))
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.PROTECT, related_name="registry_items", verbose_name=_("enrolment")
    )
    # The enrolment's village when it was claimed: batches are scoped through their items.
    village = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("village"))
    # The record's index in the payload (a 400 from the registry names the record by it).
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))
    outcome = models.CharField(
        max_length=10, choices=ItemOutcome.choices, default=ItemOutcome.PENDING, verbose_name=_("outcome")
    )
    participant_number = models.CharField(max_length=11, blank=True, verbose_name=_("participant number (KPJ)"))  # KPJ
    reason_code = models.CharField(max_length=64, blank=True, verbose_name=_("reason code"))
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    # What the registry said about this record when it refused the whole batch (400), until a retry.
    error = models.JSONField(default=dict, blank=True, verbose_name=_("error"))
    applied_at = models.DateTimeField(null=True, blank=True, verbose_name=_("applied at"))

    class Meta:
        verbose_name = _("registry batch item")
        verbose_name_plural = _("registry batch items")
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["batch_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="registry_item_position_unique"),
            models.UniqueConstraint(fields=["batch", "enrolment"], name="registry_item_once_per_batch"),
            # The database's own guarantee that a record is never in two batches on their way.
            models.UniqueConstraint(
                fields=["enrolment"], condition=Q(outcome="pending"), name="registry_item_one_open_per_enrolment"
            ),
            models.CheckConstraint(condition=Q(outcome__in=ItemOutcome.values), name="registry_item_outcome_valid"),
            models.CheckConstraint(
                condition=~Q(outcome__in=["accepted", "duplicate"]) | Q(participant_number__regex=r"^[0-9]{11}$"),
                name="registry_item_number_when_registered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}#{self.position} {self.enrolment_id} {self.outcome}"


class RegistryCursor(models.Model):
    """Where a feed of the registry was read up to. Written in the transaction that applies the
    page it comes with, never before."""

    name = models.CharField(primary_key=True, max_length=32, verbose_name=_("name"))
    value = models.CharField(max_length=256, blank=True, verbose_name=_("value"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name_plural = _("registry cursors")
        app_label = "enrolment"  # see enrolment/apps.py
        verbose_name = _("registry cursor")

    def __str__(self) -> str:
        return f"{self.name} @ {self.value or '(start)'}"


class ChangeOutcome(models.TextChoices):
    APPLIED = "applied", _("applied")
    UNCHANGED = "unchanged", _("already applied")
    UNMATCHED = "unmatched", _("no such participant here")
    NOT_APPLICABLE = "not_applicable", _("does not apply to the enrolment's status")
    INVALID = "invalid", _("malformed")


class RegistryChange(models.Model):
    """Every status change read from the registry's feed and what it did here (append-only)."""

    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))
    page_cursor = models.CharField(max_length=256, blank=True, verbose_name=_("page cursor"))  # the `since` of its page
    participant_number = models.CharField(max_length=11, blank=True, verbose_name=_("participant number (KPJ)"))
    ref = models.CharField(max_length=64, blank=True, verbose_name=_("reference"))
    status = models.CharField(max_length=10, blank=True, verbose_name=_("status"))
    effective_date = models.DateField(null=True, blank=True, verbose_name=_("effective date"))
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    outcome = models.CharField(max_length=16, choices=ChangeOutcome.choices, verbose_name=_("outcome"))
    enrolment = models.ForeignKey(
        Enrolment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registry_changes",
        verbose_name=_("enrolment"),
    )
    note = models.TextField(blank=True, verbose_name=_("note"))

    class Meta:
        verbose_name = _("registry change")
        verbose_name_plural = _("registry changes")
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["enrolment", "received_at"], name="registry_change_enrolment")]

    def __str__(self) -> str:
        return f"{self.participant_number or self.ref} {self.status} {self.outcome}"
