"""The budget year (DOMAIN.md, "The year after enrolment"): funding decrees, renewals, payments,
deaths and claims, and the outbox of messages they send to the registry.

The decrees themselves (`FundingAllocation`) live in enrolment/models.py beside the enrolments
that name them: validation and the status moves read them without importing this package.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from config.pii import EncryptedJSONField
from enrolment.models import FundingAllocation
from villages.models import Area, User
from workers.models import Worker


def new_id() -> str:
    return uuid.uuid4().hex


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    COMPLETED = "completed", _("completed")
    FAILED = "failed", _("failed")


class RenewalOutcome(models.TextChoices):
    CARRIED = "carried", _("carried over")
    LEFT_OUT = "left_out", _("left out")


class LeftOutReason(models.TextChoices):
    ENDED = "ended", _("the participation ended")
    DECEASED = "deceased", _("deceased")
    OVER_AGE = "over_age", _("over the age limit")
    MOVED_OUT = "moved_out", _("moved out of the area")
    OVER_QUOTA = "over_quota", _("beyond the decree's quota")
    OVER_BUDGET = "over_budget", _("beyond the decree's amount")


class RenewalJob(models.Model):
    """One renewal (perpanjangan): an area's participants of one budget year into a new
    allocation. The candidates and their decisions are fixed in the job's rows when it is
    planned; a real run then creates the new enrolments chunk by chunk, each chunk in one
    transaction with `processed_rows`, so a worker that dies halfway resumes where it stopped."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    from_budget_year = models.PositiveSmallIntegerField()
    to_allocation = models.ForeignKey(FundingAllocation, on_delete=models.PROTECT, related_name="renewals")
    dry_run = models.BooleanField(default=True)
    order = models.CharField(max_length=40, default="earliest_enrolment")
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Who runs it: a run holds the lease while it works and renews it per chunk; a job whose
    # lease ran out (its worker died) is taken up again by the sweeper.
    lease_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    carried_count = models.PositiveIntegerField(default=0)
    left_out_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    cost_idr = models.PositiveBigIntegerField(default=0)
    left_out_by_reason = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="renewal_status_valid")]

    def __str__(self) -> str:
        return f"renewal {self.area_id} {self.from_budget_year} → {self.to_allocation_id} ({self.status})"


class RenewalRow(models.Model):
    """One candidate of a renewal: carried over (with its cost and, after a real run, the new
    enrolment) or left out with the reason. `position` is the order used (1 = first served)."""

    job = models.ForeignKey(RenewalJob, on_delete=models.CASCADE, related_name="rows", db_index=False)
    position = models.PositiveIntegerField()
    enrolment_id = models.CharField(max_length=64)
    worker_id = models.CharField(max_length=64)
    village_id = models.CharField(max_length=13)
    participant_number = models.CharField(max_length=11, blank=True)
    outcome = models.CharField(max_length=10, choices=RenewalOutcome.choices)
    reason = models.CharField(max_length=12, choices=LeftOutReason.choices, blank=True)
    # The new year's price: first month and twelve months (the cost), and the pricing detail.
    monthly_idr = models.PositiveIntegerField(default=0)
    cost_idr = models.PositiveBigIntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True)
    # The new year's enrolment: made by this job, or found already there (an earlier run).
    new_enrolment_id = models.CharField(max_length=64, blank=True)
    already_renewed = models.BooleanField(default=False)

    class Meta:
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["job_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="renewal_row_position"),
            models.CheckConstraint(
                condition=Q(outcome="carried", reason="") | (Q(outcome="left_out") & ~Q(reason="")),
                name="renewal_row_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.position} {self.outcome}"


class Payment(models.Model):
    """A payment for some months of cover, of an allocation's enrolments or of listed ones.
    Idempotent on `reference` (the payer's transfer or receipt number)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=100, unique=True)
    request_hash = models.CharField(max_length=64)
    allocation = models.ForeignKey(
        FundingAllocation, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    period_from = models.DateField()  # first day of the first month paid
    period_to = models.DateField()  # first day of the last month paid
    amount_idr = models.PositiveBigIntegerField()
    paid_at = models.DateTimeField()
    enrolment_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["-paid_at"]
        constraints = [
            models.CheckConstraint(condition=Q(period_to__gte=F("period_from")), name="payment_period_order")
        ]

    def __str__(self) -> str:
        return self.reference


class PaymentItem(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="items", db_index=False)
    enrolment = models.ForeignKey("enrolment.Enrolment", on_delete=models.PROTECT, related_name="+")

    class Meta:
        app_label = "enrolment"  # see enrolment/apps.py
        constraints = [models.UniqueConstraint(fields=["payment", "enrolment"], name="payment_item_unique")]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.enrolment_id}"


class MessageKind(models.TextChoices):
    EVENT = "event", _("participant event")
    PAYMENT = "payment", _("payment")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class RegistryMessage(models.Model):
    """The outbox of single calls to the registry (REGISTRY.md, "Additions"): death and end
    events, payments. Its key and body are fixed when it is written, in the transaction of the
    change it reports, and every send repeats them: the registry answers a repeated key with its
    first answer, so a message is applied there once whatever the faults. `dedupe_key` makes
    writing the message itself idempotent (one death event per person)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=MessageKind.choices)
    dedupe_key = models.CharField(max_length=120, unique=True)
    path = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answer = models.JSONField(null=True, blank=True)

    class Meta:
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="registry_message_pending")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.dedupe_key} ({self.status})"


class DeathCause(models.TextChoices):
    WORK_ACCIDENT = "work_accident", _("work accident")
    OTHER = "other", _("other")


class DeathReport(models.Model):
    """A death the village heard of. A person dies once: one report per worker."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    worker = models.OneToOneField(Worker, on_delete=models.PROTECT, related_name="+")
    date_of_death = models.DateField()
    cause = models.CharField(max_length=14, choices=DeathCause.choices)
    place = models.CharField(max_length=200)
    reported_by_name = models.CharField(max_length=150, blank=True)
    notes = models.TextField(blank=True)
    reported_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "enrolment"  # see enrolment/apps.py

    def __str__(self) -> str:
        return f"{self.worker_id} † {self.date_of_death}"


class ClaimProgram(models.TextChoices):
    JKM = "JKM", _("death (Jaminan Kematian)")
    JKK = "JKK", _("work accident (Jaminan Kecelakaan Kerja)")


class ClaimStatus(models.TextChoices):
    DOCUMENTS_PENDING = "documents_pending", _("documents pending")
    READY = "ready", _("ready to file")
    FILED = "filed", _("filed")
    PAID = "paid", _("paid")
    REFUSED = "refused", _("refused")


class Claim(models.Model):
    """The heirs' claim after a death, or the clear answer that there is none (`covered` false,
    with the reason). `checklist` is [{document, received}] from DOMAIN.md's document list."""

    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    death = models.OneToOneField(DeathReport, on_delete=models.PROTECT, related_name="claim")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="+")
    village = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    enrolment = models.ForeignKey(
        "enrolment.Enrolment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    program = models.CharField(max_length=3, choices=ClaimProgram.choices)
    covered = models.BooleanField()
    reason = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=17, choices=ClaimStatus.choices)
    checklist = models.JSONField(default=list)
    # The heirs (names, NIKs, phones; often children) encrypted at rest like the worker's own
    # (config/pii.py): one token for the list, never searched in SQL.
    heirs = EncryptedJSONField(default=list, blank=True)
    amount_idr = models.PositiveBigIntegerField(default=0)
    notes = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    status_changed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["village", "status"], name="claim_village_status")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ClaimStatus.values), name="claim_status_valid"),
            models.CheckConstraint(condition=Q(covered=True) | ~Q(reason=""), name="claim_uncovered_has_reason"),
            models.CheckConstraint(condition=Q(covered=True) | Q(status="refused"), name="claim_uncovered_is_refused"),
        ]

    def __str__(self) -> str:
        return f"{self.program} {self.worker_id} ({self.status})"
