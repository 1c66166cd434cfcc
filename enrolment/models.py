"""Participation in BPJSTK programs, and the effective-dated rules that price it.

Amounts live in the database, never in code (DOMAIN.md): an operator corrects a rate or adds
an income band or a discount period in the admin, and every enrolment saved afterwards uses it.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from villages.models import Area, User
from villages.records import ClientRecord
from workers.models import FundingSource, Worker


class Segment(models.TextChoices):
    BPU = "BPU", _("informal worker (Bukan Penerima Upah)")
    PU = "PU", _("wage earner (Penerima Upah)")


class Program(models.TextChoices):
    JKK = "JKK", _("work accident (Jaminan Kecelakaan Kerja)")
    JKM = "JKM", _("death (Jaminan Kematian)")
    JHT = "JHT", _("old-age savings (Jaminan Hari Tua)")


class RateBasis(models.TextChoices):
    BAND_BASE = "band_base", _("percentage of the income band's base")
    INCOME = "income", _("percentage of the monthly income")
    FLAT = "flat", _("flat amount")


class ContributionRule(models.Model):
    """The monthly amount of one program for one segment, for a period.

    `rate_bp` is in basis points (100 = 1 %) so money stays integer; the result is rounded to
    whole rupiah and raised to `minimum_idr`.
    """

    segment = models.CharField(max_length=3, choices=Segment.choices)
    program = models.CharField(max_length=3, choices=Program.choices)
    basis = models.CharField(max_length=10, choices=RateBasis.choices)
    rate_bp = models.PositiveIntegerField(default=0)
    flat_idr = models.PositiveIntegerField(default=0)
    minimum_idr = models.PositiveIntegerField(default=0)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)  # inclusive; empty = until further notice
    source = models.CharField(max_length=200, blank=True)  # the regulation, e.g. "PP 44/2015"

    class Meta:
        ordering = ["segment", "program", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="rule_period_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.segment} {self.program} from {self.valid_from}"


class IncomeBand(models.Model):
    """PP 44/2015 Annex II: declared income from `income_from` upwards → a nominal base.

    The band for an income is the one with the highest `income_from` not above it, so the top
    band is open-ended. Seeded with the lowest band (base Rp 1,000,000).
    """

    segment = models.CharField(max_length=3, choices=Segment.choices, default=Segment.BPU)
    income_from = models.PositiveBigIntegerField()
    base_idr = models.PositiveBigIntegerField()
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["segment", "income_from", "valid_from"]

    def __str__(self) -> str:
        return f"{self.segment} from Rp {self.income_from:,} → base Rp {self.base_idr:,}"


class ContributionDiscount(models.Model):
    """A percentage off some programs for a period, e.g. PP 50/2025's 50 % on JKK and JKM for
    self-paying BPU (transport 2026-01..2027-03, other sectors 2026-04..2026-12)."""

    name = models.CharField(max_length=100)
    segment = models.CharField(max_length=3, choices=Segment.choices, default=Segment.BPU)
    programs = models.JSONField(default=list)  # ["JKK", "JKM"]
    percent = models.PositiveSmallIntegerField()
    # Occupation groups it is for (see OccupationGroup); empty: every group.
    occupation_groups = models.JSONField(default=list, blank=True)
    self_paid_only = models.BooleanField(default=True)
    valid_from = models.DateField()
    valid_to = models.DateField()
    source = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["valid_from", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(percent__lte=100), name="discount_percent_max"),
            models.CheckConstraint(condition=Q(valid_to__gte=F("valid_from")), name="discount_period_order"),
        ]

    def __str__(self) -> str:
        return self.name


def new_allocation_id() -> str:
    return uuid.uuid4().hex


class FundingAllocation(models.Model):
    """A funding decree (SK): who pays for how many people, how much, over which months.

    `period_start` and `period_end` are the first days of the first and the last month covered
    (the API speaks YYYY-MM). The commitment (`committed_workers`, `committed_idr`) is kept by
    the database (migration 0013): a statement-level trigger on enrolments adds each counted
    enrolment's person and annual amount to its allocation row, whose CHECK constraints refuse
    a commitment beyond the quota or the amount. A writer racing another for the last seats waits
    on the allocation row, then fails the CHECK: never a check-then-act. Counted: enrolments
    naming it that are verified, queued or active (not deleted, not flagged). A draft holds no
    seat; a rejection, an end or a deletion frees one.
    """

    id = models.CharField(primary_key=True, max_length=64, default=new_allocation_id)
    funding_source = models.ForeignKey(FundingSource, on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    budget_year = models.PositiveSmallIntegerField()
    decree_number = models.CharField(max_length=200)
    decree_date = models.DateField()
    period_start = models.DateField()
    period_end = models.DateField()
    quota_workers = models.PositiveIntegerField()
    amount_idr = models.PositiveBigIntegerField()
    committed_workers = models.BigIntegerField(default=0, db_default=0, editable=False)
    committed_idr = models.BigIntegerField(default=0, db_default=0, editable=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["budget_year", "area_id", "decree_number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(committed_workers__lte=F("quota_workers")), name="allocation_within_quota"
            ),
            models.CheckConstraint(condition=Q(committed_idr__lte=F("amount_idr")), name="allocation_within_amount"),
            models.CheckConstraint(
                condition=Q(committed_workers__gte=0, committed_idr__gte=0), name="allocation_commitment_positive"
            ),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="allocation_period_order"),
            models.UniqueConstraint(
                fields=["funding_source", "area", "budget_year", "decree_number"], name="allocation_decree_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decree_number} ({self.area_id}, {self.budget_year})"


class Status(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    VERIFIED = "verified", _("verified")
    QUEUED = "queued", _("queued for the registry")
    ACTIVE = "active", _("active")
    REJECTED = "rejected", _("rejected")
    ENDED = "ended", _("ended")


class RegistryStatus(models.TextChoices):
    """The participation's status as the central registry reports it (REGISTRY.md changes feed).

    `inactive` is not one of our statuses: the participant stays registered (status `active`, KPJ
    kept) but the registry has suspended the cover, e.g. after three unpaid months; paying again
    brings an `active` change. `deceased` and `ended` also end our enrolment (status `ended`).
    """

    ACTIVE = "active", _("active at the registry")
    INACTIVE = "inactive", _("inactive at the registry (cover suspended)")
    DECEASED = "deceased", _("deceased")
    ENDED = "ended", _("ended at the registry")


LIVE_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.VERIFIED, Status.QUEUED, Status.ACTIVE)
PAYMENT_PERIODS = (1, 3, 6, 12)


class Enrolment(ClientRecord):
    """A person's participation (a client record, villages/records.py)."""

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="enrolments")
    # The worker's village, kept here so scoping, sync and reports never join workers.
    village = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", db_index=False)
    segment = models.CharField(max_length=3, choices=Segment.choices, default=Segment.BPU)
    programs = models.JSONField(default=list)
    funding_source = models.ForeignKey(
        FundingSource, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    budget_year = models.PositiveSmallIntegerField(null=True, blank=True)
    funding_decree = models.CharField(max_length=200, blank=True)  # the decree paying for it
    coverage_start = models.DateField(null=True, blank=True)
    payment_period_months = models.PositiveSmallIntegerField(default=1)
    # Server-computed from the rate tables: the first month's amount, and a year of coverage
    # from coverage_start at the rates in force each month (discounts change within a year).
    monthly_contribution = models.PositiveIntegerField(default=0)
    annual_contribution = models.PositiveBigIntegerField(default=0)
    contribution_detail = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # KPJ: the participant number the registry issues (11 digits).
    registry_number = models.CharField(max_length=11, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # What the registry last said about the participation, and from when ('' before registration).
    registry_status = models.CharField(
        max_length=10, choices=RegistryStatus.choices, blank=True, default="", db_default=""
    )
    registry_status_date = models.DateField(null=True, blank=True)

    # The budget year (enrolment/funding): the decree paying for it, the last month paid for
    # (first day of that month), and for a renewal the enrolment it continues and the participant
    # number (KPJ) it renews, which the registry keeps.
    allocation = models.ForeignKey(
        FundingAllocation, null=True, blank=True, on_delete=models.PROTECT, related_name="enrolments"
    )
    paid_through = models.DateField(null=True, blank=True)
    renewal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewed_by"
    )
    renews = models.CharField(max_length=11, blank=True, default="", db_default="")

    class Meta(ClientRecord.Meta):
        constraints = [
            *ClientRecord.Meta.constraints,
            # One live enrolment per person and budget year: a renewal makes next year's while this
            # year's still runs (the services refuse a second live one otherwise: already_enrolled).
            models.UniqueConstraint(
                fields=["worker", "budget_year"],
                condition=Q(status__in=LIVE_STATUSES, deleted_at__isnull=True, needs_correction=False),
                name="enrolment_one_live_per_worker_year",
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="enrolment_status_valid"),
            models.CheckConstraint(
                condition=Q(payment_period_months__in=PAYMENT_PERIODS), name="enrolment_payment_period"
            ),
            models.CheckConstraint(
                condition=Q(needs_correction=True)
                | (Q(funding_source__isnull=False) & Q(budget_year__isnull=False) & Q(coverage_start__isnull=False)),
                name="enrolment_complete_unless_flagged",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.ACTIVE) | Q(registry_number__regex=r"^[0-9]{11}$"),
                name="enrolment_active_has_registry_number",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.REJECTED) | ~Q(status_reason=""),
                name="enrolment_rejected_has_reason",
            ),
        ]
        # As for workers: only indexes a query uses (the village prefix for scoping, village with
        # status, status with updated_at for the registry claim); officials' columns unindexed.
        indexes = [
            # The village prefix (scoping) with the sync stamp: a device's incremental pull reads
            # one village's recent changes as one index range.
            models.Index(
                fields=["village", "sync_txid"],
                name="enrolment_village_sync",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            models.Index(fields=["village", "status"], name="enrolment_village_status"),
            models.Index(fields=["status", "updated_at"], name="enrolment_status_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


# Counted against an allocation (the trigger of migration 0013 says the same in SQL).
COMMITTING_STATUSES = (Status.VERIFIED, Status.QUEUED, Status.ACTIVE)
