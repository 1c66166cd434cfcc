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

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    from_budget_year = models.PositiveSmallIntegerField(verbose_name=_("from budget year"))
    to_allocation = models.ForeignKey(
        FundingAllocation, on_delete=models.PROTECT, related_name="renewals", verbose_name=_("to allocation")
    )
    dry_run = models.BooleanField(default=True, verbose_name=_("dry run"))
    order = models.CharField(max_length=40, default="earliest_enrolment", verbose_name=_("order"))
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, verbose_name=_("status")
    )
    error = models.TextField(blank=True, verbose_name=_("error"))
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # Who runs it: a run holds the lease while it works and renews it per chunk; a job whose
    # lease ran out (its worker died) is taken up again by the sweeper.
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("lease until"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    total_rows = models.PositiveIntegerField(default=0, verbose_name=_("total rows"))
    processed_rows = models.PositiveIntegerField(default=0, verbose_name=_("processed rows"))
    carried_count = models.PositiveIntegerField(default=0, verbose_name=_("carried count"))
    left_out_count = models.PositiveIntegerField(default=0, verbose_name=_("left out count"))
    created_count = models.PositiveIntegerField(default=0, verbose_name=_("created count"))
    cost_idr = models.PositiveBigIntegerField(default=0, verbose_name=_("cost (IDR)"))
    left_out_by_reason = models.JSONField(default=dict, blank=True, verbose_name=_("left out by reason"))

    class Meta:
        verbose_name = _("renewal job")
        verbose_name_plural = _("renewal jobs")
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="renewal_status_valid")]

    def __str__(self) -> str:
        return f"renewal {self.area_id} {self.from_budget_year} → {self.to_allocation_id} ({self.status})"


class RenewalRow(models.Model):
    """One candidate of a renewal: carried over (with its cost and, after a real run, the new
    enrolment) or left out with the reason. `position` is the order used (1 = first served)."""

    job = models.ForeignKey(
        RenewalJob, on_delete=models.CASCADE, related_name="rows", db_index=False, verbose_name=_("job")
    )
    position = models.PositiveIntegerField(verbose_name=_("position"))
    enrolment_id = models.CharField(max_length=64, verbose_name=_("enrolment ID"))
    worker_id = models.CharField(max_length=64, verbose_name=_("worker ID"))
    village_id = models.CharField(max_length=13, verbose_name=_("village ID"))
    participant_number = models.CharField(max_length=11, blank=True, verbose_name=_("participant number (KPJ)"))
    outcome = models.CharField(max_length=10, choices=RenewalOutcome.choices, verbose_name=_("outcome"))
    reason = models.CharField(max_length=12, choices=LeftOutReason.choices, blank=True, verbose_name=_("reason"))
    # The new year's price: first month and twelve months (the cost), and the pricing detail.
    monthly_idr = models.PositiveIntegerField(default=0, verbose_name=_("monthly amount (IDR)"))
    cost_idr = models.PositiveBigIntegerField(default=0, verbose_name=_("cost (IDR)"))
    detail = models.JSONField(default=dict, blank=True, verbose_name=_("detail"))
    # The new year's enrolment: made by this job, or found already there (an earlier run).
    new_enrolment_id = models.CharField(max_length=64, blank=True, verbose_name=_("new enrolment ID"))
    already_renewed = models.BooleanField(default=False, verbose_name=_("already renewed"))

    class Meta:
        verbose_name = _("renewal row")
        verbose_name_plural = _("renewal rows")
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

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    reference = models.CharField(max_length=100, unique=True, verbose_name=_("reference"))
    request_hash = models.CharField(max_length=64, verbose_name=_("request hash"))
    allocation = models.ForeignKey(
        FundingAllocation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("allocation"),
    )
    period_from = models.DateField(verbose_name=_("period from"))  # first day of the first month paid
    period_to = models.DateField(verbose_name=_("period to"))  # first day of the last month paid
    amount_idr = models.PositiveBigIntegerField(verbose_name=_("amount (IDR)"))
    paid_at = models.DateTimeField(verbose_name=_("paid at"))
    enrolment_count = models.PositiveIntegerField(default=0, verbose_name=_("enrolment count"))
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["-paid_at"]
        constraints = [
            models.CheckConstraint(condition=Q(period_to__gte=F("period_from")), name="payment_period_order")
        ]

    def __str__(self) -> str:
        return self.reference


class PaymentItem(models.Model):
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="items", db_index=False, verbose_name=_("payment")
    )
    enrolment = models.ForeignKey(
        "enrolment.Enrolment", on_delete=models.PROTECT, related_name="+", verbose_name=_("enrolment")
    )

    class Meta:
        verbose_name = _("payment item")
        verbose_name_plural = _("payment items")
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

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    kind = models.CharField(max_length=8, choices=MessageKind.choices, verbose_name=_("kind"))
    dedupe_key = models.CharField(max_length=120, unique=True, verbose_name=_("dedupe key"))
    path = models.CharField(max_length=200, verbose_name=_("path"))
    body = models.TextField(verbose_name=_("body"))
    status = models.CharField(
        max_length=8, choices=MessageStatus.choices, default=MessageStatus.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("lease until"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    answer = models.JSONField(null=True, blank=True, verbose_name=_("answer"))

    class Meta:
        verbose_name = _("registry message")
        verbose_name_plural = _("registry messages")
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

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    worker = models.OneToOneField(Worker, on_delete=models.PROTECT, related_name="+", verbose_name=_("worker"))
    date_of_death = models.DateField(verbose_name=_("date of death"))
    cause = models.CharField(max_length=14, choices=DeathCause.choices, verbose_name=_("cause"))
    place = models.CharField(max_length=200, verbose_name=_("place"))
    reported_by_name = models.CharField(max_length=150, blank=True, verbose_name=_("reported by name"))
    notes = models.TextField(blank=True, verbose_name=_("notes"))
    reported_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("reported by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("death report")
        verbose_name_plural = _("death reports")
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

    id = models.CharField(primary_key=True, max_length=64, default=new_id, verbose_name=_("ID"))
    death = models.OneToOneField(DeathReport, on_delete=models.PROTECT, related_name="claim", verbose_name=_("death"))
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="+", verbose_name=_("worker"))
    village = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("village"))
    enrolment = models.ForeignKey(
        "enrolment.Enrolment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("enrolment"),
    )
    program = models.CharField(max_length=3, choices=ClaimProgram.choices, verbose_name=_("program"))
    covered = models.BooleanField(verbose_name=_("covered"))
    reason = models.CharField(max_length=40, blank=True, verbose_name=_("reason"))
    status = models.CharField(max_length=17, choices=ClaimStatus.choices, verbose_name=_("status"))
    checklist = models.JSONField(default=list, verbose_name=_("checklist"))
    # The heirs (names, NIKs, phones; often children) encrypted at rest like the worker's own
    # (config/pii.py): one token for the list, never searched in SQL.
    heirs = EncryptedJSONField(default=list, blank=True, verbose_name=_("heirs"))
    amount_idr = models.PositiveBigIntegerField(default=0, verbose_name=_("amount (IDR)"))
    notes = models.TextField(blank=True, verbose_name=_("notes"))
    version = models.PositiveIntegerField(default=1, verbose_name=_("version"))
    status_changed_at = models.DateTimeField(verbose_name=_("status changed at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
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
