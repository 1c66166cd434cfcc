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

    segment = models.CharField(max_length=3, choices=Segment.choices, verbose_name=_("segment"))
    program = models.CharField(max_length=3, choices=Program.choices, verbose_name=_("program"))
    basis = models.CharField(max_length=10, choices=RateBasis.choices, verbose_name=_("basis"))
    rate_bp = models.PositiveIntegerField(
        default=0, verbose_name=_("rate (basis points)"), help_text=_("100 basis points = 1 %.")
    )
    flat_idr = models.PositiveIntegerField(default=0, verbose_name=_("flat amount (IDR)"))
    minimum_idr = models.PositiveIntegerField(default=0, verbose_name=_("minimum (IDR)"))
    valid_from = models.DateField(verbose_name=_("valid from"))
    valid_to = models.DateField(
        null=True, blank=True, verbose_name=_("valid to")
    )  # inclusive; empty = until further notice
    source = models.CharField(max_length=200, blank=True, verbose_name=_("source"))  # the regulation, e.g. "PP 44/2015"

    class Meta:
        verbose_name = _("contribution rule")
        verbose_name_plural = _("contribution rules")
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

    segment = models.CharField(max_length=3, choices=Segment.choices, default=Segment.BPU, verbose_name=_("segment"))
    income_from = models.PositiveBigIntegerField(verbose_name=_("income from"))
    base_idr = models.PositiveBigIntegerField(verbose_name=_("base (IDR)"))
    valid_from = models.DateField(verbose_name=_("valid from"))
    valid_to = models.DateField(null=True, blank=True, verbose_name=_("valid to"))
    source = models.CharField(max_length=200, blank=True, verbose_name=_("source"))

    class Meta:
        verbose_name = _("income band")
        verbose_name_plural = _("income bands")
        ordering = ["segment", "income_from", "valid_from"]

    def __str__(self) -> str:
        return f"{self.segment} from Rp {self.income_from:,} → base Rp {self.base_idr:,}"


class ContributionDiscount(models.Model):
    """A percentage off some programs for a period, e.g. PP 50/2025's 50 % on JKK and JKM for
    self-paying BPU (transport 2026-01..2027-03, other sectors 2026-04..2026-12)."""

    name = models.CharField(max_length=100, verbose_name=_("name"))
    segment = models.CharField(max_length=3, choices=Segment.choices, default=Segment.BPU, verbose_name=_("segment"))
    programs = models.JSONField(
        default=list, verbose_name=_("programs"), help_text=_('Program codes, e.g. ["JKK", "JKM"].')
    )
    percent = models.PositiveSmallIntegerField(verbose_name=_("percent"))
    # Occupation groups it is for (see OccupationGroup); empty: every group.
    occupation_groups = models.JSONField(
        default=list,
        blank=True,
        verbose_name=_("occupation groups"),
        help_text=_('Occupation group codes, e.g. ["transport"]; empty: every group.'),
    )
    self_paid_only = models.BooleanField(default=True, verbose_name=_("self-paid only"))
    valid_from = models.DateField(verbose_name=_("valid from"))
    valid_to = models.DateField(verbose_name=_("valid to"))
    source = models.CharField(max_length=200, blank=True, verbose_name=_("source"))

    class Meta:
        verbose_name = _("contribution discount")
        verbose_name_plural = _("contribution discounts")
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

    id = models.CharField(primary_key=True, max_length=64, default=new_allocation_id, verbose_name=_("ID"))
    funding_source = models.ForeignKey(
        FundingSource, on_delete=models.PROTECT, related_name="+", verbose_name=_("funding source")
    )
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    budget_year = models.PositiveSmallIntegerField(verbose_name=_("budget year"))
    decree_number = models.CharField(max_length=200, verbose_name=_("decree number"))
    decree_date = models.DateField(verbose_name=_("decree date"))
    period_start = models.DateField(verbose_name=_("period start"))
    period_end = models.DateField(verbose_name=_("period end"))
    quota_workers = models.PositiveIntegerField(verbose_name=_("quota workers"))
    amount_idr = models.PositiveBigIntegerField(verbose_name=_("amount (IDR)"))
    committed_workers = models.BigIntegerField(
        default=0, db_default=0, editable=False, verbose_name=_("committed workers")
    )
    committed_idr = models.BigIntegerField(default=0, db_default=0, editable=False, verbose_name=_("committed (IDR)"))
    version = models.PositiveIntegerField(default=1, verbose_name=_("version"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("funding allocation")
        verbose_name_plural = _("funding allocations")
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

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("worker"))
    # The worker's village, kept here so scoping, sync and reports never join workers.
    village = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("village")
    )
    segment = models.CharField(max_length=3, choices=Segment.choices, default=Segment.BPU, verbose_name=_("segment"))
    programs = models.JSONField(default=list, verbose_name=_("programs"))
    funding_source = models.ForeignKey(
        FundingSource,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("funding source"),
    )
    budget_year = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("budget year"))
    funding_decree = models.CharField(
        max_length=200, blank=True, verbose_name=_("funding decree")
    )  # the decree paying for it
    coverage_start = models.DateField(null=True, blank=True, verbose_name=_("coverage start"))
    payment_period_months = models.PositiveSmallIntegerField(default=1, verbose_name=_("payment period (months)"))
    # Server-computed from the rate tables: the first month's amount, and a year of coverage
    # from coverage_start at the rates in force each month (discounts change within a year).
    monthly_contribution = models.PositiveIntegerField(default=0, verbose_name=_("monthly contribution (IDR)"))
    annual_contribution = models.PositiveBigIntegerField(default=0, verbose_name=_("annual contribution (IDR)"))
    contribution_detail = models.JSONField(default=dict, blank=True, verbose_name=_("contribution detail"))

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, verbose_name=_("status"))
    status_reason = models.TextField(blank=True, verbose_name=_("status reason"))
    status_changed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("status changed at"))
    status_changed_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        verbose_name=_("status changed by"),
    )
    # KPJ: the participant number the registry issues (11 digits).
    registry_number = models.CharField(max_length=11, blank=True, verbose_name=_("participant number (KPJ)"))
    synced_at = models.DateTimeField(null=True, blank=True, verbose_name=_("synced at"))
    # What the registry last said about the participation, and from when ('' before registration).
    registry_status = models.CharField(
        max_length=10,
        choices=RegistryStatus.choices,
        blank=True,
        default="",
        db_default="",
        verbose_name=_("registry status"),
    )
    registry_status_date = models.DateField(null=True, blank=True, verbose_name=_("registry status date"))

    # The budget year (enrolment/funding): the decree paying for it, the last month paid for
    # (first day of that month), and for a renewal the enrolment it continues and the participant
    # number (KPJ) it renews, which the registry keeps.
    allocation = models.ForeignKey(
        FundingAllocation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="enrolments",
        verbose_name=_("allocation"),
    )
    paid_through = models.DateField(null=True, blank=True, verbose_name=_("paid through"))
    renewal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewed_by", verbose_name=_("renewal of")
    )
    renews = models.CharField(
        max_length=11, blank=True, default="", db_default="", verbose_name=_("renews participant number (KPJ)")
    )

    class Meta(ClientRecord.Meta):
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
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
            # Renewals by the participant number they renew (the registry's changes feed names it).
            models.Index(fields=["renews"], condition=~Q(renews=""), name="enrolment_renews"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


# Counted against an allocation (the trigger of migration 0013 says the same in SQL).
COMMITTING_STATUSES = (Status.VERIFIED, Status.QUEUED, Status.ACTIVE)
