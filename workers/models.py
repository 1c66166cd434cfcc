"""The people: informal workers, and the reference tables that describe them.

A worker is a client record (villages/records.py: client id, soft delete, needs_correction,
version, sync stamps). A flagged record may be incomplete; the database holds every other row to
the full rules (see the constraints).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.pii import BlindIndexField, EncryptedJSONField, EncryptedTextField
from villages.models import Area
from villages.records import CLIENT_ID_MAX_LENGTH as CLIENT_ID_MAX_LENGTH
from villages.records import ClientRecord


class OccupationGroup(models.TextChoices):
    VILLAGE_GOVERNMENT = "village_government", _("village government")
    COMMUNITY = "community", _("community and religious")
    AGRICULTURE = "agriculture", _("agriculture")
    FISHERIES = "fisheries", _("fisheries")
    TRANSPORT = "transport", _("transport")
    TRADE_LABOUR = "trade_labour", _("informal trade and labour")
    HOUSEHOLD_OTHER = "household_other", _("household and other")


class Occupation(models.Model):
    """A reference row (seeded from DOMAIN.md, extendable by an admin)."""

    code = models.CharField(primary_key=True, max_length=32)
    name = models.CharField(max_length=100)  # Indonesian, as officials say it
    name_en = models.CharField(max_length=100)
    group = models.CharField(max_length=20, choices=OccupationGroup.choices)
    sort_order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class FundingSource(models.Model):
    """Who pays the contribution. `public_budget` (APBN/APBD and the like) and `self_paid`
    decide which discounts apply (PP 50/2025 discounts self-paying BPU only)."""

    code = models.CharField(primary_key=True, max_length=32)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)
    public_budget = models.BooleanField(default=False)
    self_paid = models.BooleanField(default=False)
    sort_order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=~Q(public_budget=True, self_paid=True), name="funding_public_or_self"),
        ]

    def __str__(self) -> str:
        return self.name


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class ConsentMethod(models.TextChoices):
    SIGNATURE = "signature", _("signature")
    THUMBPRINT = "thumbprint", _("thumbprint")
    VERBAL = "verbal", _("verbal")


class HeirRelationship(models.TextChoices):
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")
    SIBLING = "sibling", _("sibling")
    OTHER = "other", _("other")


class Worker(ClientRecord):
    # Indexed by the prefix index and (village, birth_date) below, not by Django's default pair.
    village = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="workers", db_index=False)
    # Personal data is encrypted at rest (config/pii.py): NIK, No. KK, phone, mother's maiden name
    # and heirs. Exact matches (NIK uniqueness, "already registered", search by NIK, import
    # matching) go through the blind indexes beside them, kept by every save.
    # The normalised 16 digits; as typed only on a record that needs correction.
    nik = EncryptedTextField(blank=True)
    nik_bi = BlindIndexField(source="nik", purpose="nik")
    kk_number = EncryptedTextField(blank=True)  # No. KK, the family card
    kk_bi = BlindIndexField(source="kk_number", purpose="kk")
    full_name = models.CharField(max_length=150, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    birth_place = models.CharField(max_length=100, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    phone = EncryptedTextField(blank=True)  # E.164
    phone_bi = BlindIndexField(source="phone", purpose="phone")
    address_street = models.CharField(max_length=200, blank=True)
    address_dusun = models.CharField(max_length=100, blank=True)
    address_rt = models.CharField(max_length=3, blank=True)
    address_rw = models.CharField(max_length=3, blank=True)
    occupation = models.ForeignKey(
        Occupation, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kusuka_number = models.CharField(max_length=32, blank=True)  # fishers' KUSUKA card
    monthly_income = models.PositiveBigIntegerField(null=True, blank=True)  # IDR
    mother_maiden_name = EncryptedTextField(blank=True)
    # [{name, relationship, nik, phone}]: ahli waris, needed at claim time.
    heirs = EncryptedJSONField(default=list, blank=True)
    consent_given_at = models.DateTimeField(null=True, blank=True)
    consent_method = models.CharField(max_length=10, choices=ConsentMethod.choices, blank=True)
    consent_recorded_by = models.CharField(max_length=150, blank=True)
    # Data-subject rights (enrolment/privacy): anonymised on request, or processing restricted.
    erased_at = models.DateTimeField(null=True, blank=True)
    restricted_at = models.DateTimeField(null=True, blank=True)

    class Meta(ClientRecord.Meta):
        constraints = [
            *ClientRecord.Meta.constraints,
            # One live person per NIK, nationally (by its blind index). Tombstones and quarantined
            # records don't count.
            models.UniqueConstraint(
                fields=["nik_bi"],
                condition=Q(deleted_at__isnull=True, needs_correction=False),
                name="worker_nik_bi_unique_live",
            ),
            models.CheckConstraint(
                condition=Q(needs_correction=True)
                | (
                    Q(nik_bi__regex=r"^[0-9a-f]{32}$")
                    & ~Q(full_name="")
                    & Q(birth_date__isnull=False)
                    & Q(sex__in=["M", "F"])
                    & Q(occupation__isnull=False)
                ),
                name="worker_complete_unless_flagged",
            ),
        ]
        # Every index costs every insert (bulk registration, imports, sync pushes), so only the
        # ones a query uses: the village prefix (scoping: village_id LIKE '17.04.%'), village with
        # birth date (possible duplicates; also serves village equality) and updated_at (lists
        # since a time). The officials' columns (created_by, ...) are not indexed: officials are
        # deactivated, never deleted, so nothing looks workers up by them.
        indexes = [
            # The village prefix (scoping) with the sync stamp: a device's incremental pull reads
            # one village's recent changes as one index range.
            models.Index(
                fields=["village", "sync_txid"],
                name="worker_village_sync",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            models.Index(fields=["village", "birth_date"], name="worker_village_birth"),
            models.Index(fields=["updated_at"], name="worker_updated_at"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.full_name}"
