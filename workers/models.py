"""The people: informal workers, and the reference tables that describe them.

A worker is a client record (villages/records.py: client id, soft delete, needs_correction,
version, sync stamps). A flagged record may be incomplete; the database holds every other row to
the full rules (see the constraints).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.formats import iso_datetime
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

    code = models.CharField(primary_key=True, max_length=32, verbose_name=_("code"))
    name = models.CharField(max_length=100, verbose_name=_("name"))  # Indonesian, as officials say it
    name_en = models.CharField(max_length=100, verbose_name=_("English name"))
    group = models.CharField(max_length=20, choices=OccupationGroup.choices, verbose_name=_("group"))
    sort_order = models.PositiveSmallIntegerField(default=0, verbose_name=_("sort order"))
    active = models.BooleanField(default=True, verbose_name=_("active"))

    class Meta:
        verbose_name = _("occupation")
        verbose_name_plural = _("occupations")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class FundingSource(models.Model):
    """Who pays the contribution. `public_budget` (APBN/APBD and the like) and `self_paid`
    decide which discounts apply (PP 50/2025 discounts self-paying BPU only)."""

    code = models.CharField(primary_key=True, max_length=32, verbose_name=_("code"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    name_en = models.CharField(max_length=100, verbose_name=_("English name"))
    public_budget = models.BooleanField(default=False, verbose_name=_("public budget"))
    self_paid = models.BooleanField(default=False, verbose_name=_("self-paid"))
    sort_order = models.PositiveSmallIntegerField(default=0, verbose_name=_("sort order"))
    active = models.BooleanField(default=True, verbose_name=_("active"))

    class Meta:
        verbose_name = _("funding source")
        verbose_name_plural = _("funding sources")
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


class PrivacyNotice(models.Model):
    """A version of the privacy notice (pemberitahuan privasi) read to a person before they
    consent: reference data (seeded by workers 0013; a new version is a new row, never an edit).
    A consent names the version it was given under and one of its purposes (UU 27/2022)."""

    version = models.CharField(primary_key=True, max_length=20, verbose_name=_("version"))
    title = models.CharField(max_length=200, verbose_name=_("title"))
    summary = models.TextField(verbose_name=_("summary"))  # what the officer reads out, in Indonesian
    text = models.TextField(verbose_name=_("text"))
    # The purposes (codes) consent under this notice may be given for; the first is the default.
    purposes = models.JSONField(default=list, verbose_name=_("purposes"))
    effective_from = models.DateField(verbose_name=_("effective from"))
    effective_until = models.DateField(
        null=True, blank=True, verbose_name=_("effective until")
    )  # the last day; open when null

    class Meta:
        verbose_name = _("privacy notice")
        verbose_name_plural = _("privacy notices")
        ordering = ["effective_from", "version"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True) | Q(effective_until__gte=models.F("effective_from")),
                name="privacynotice_period",
            ),
        ]

    def __str__(self) -> str:
        return self.version


class NikStatus(models.TextChoices):
    """Where a worker's NIK stands (API.md "Data quality"): set by the registry's answers and by
    operators; `pending` exactly when there is no NIK yet (the database checks it)."""

    UNVERIFIED = "unverified", _("unverified")
    VERIFIED = "verified", _("verified")
    NOT_FOUND = "not_found", _("not found at Dukcapil")
    MISMATCH = "mismatch", _("does not match Dukcapil")
    PENDING = "pending", _("no NIK yet")


# A worker with one of these cannot be submitted (409 nik_required) and is followed up.
NIK_FOLLOW_UP = (NikStatus.PENDING, NikStatus.NOT_FOUND, NikStatus.MISMATCH)


class HeirRelationship(models.TextChoices):
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")
    SIBLING = "sibling", _("sibling")
    OTHER = "other", _("other")


class Worker(ClientRecord):
    # Indexed by the prefix index and (village, birth_date) below, not by Django's default pair.
    village = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="workers", db_index=False, verbose_name=_("village")
    )
    # Personal data is encrypted at rest (config/pii.py): NIK, No. KK, phone, mother's maiden name
    # and heirs. Exact matches (NIK uniqueness, "already registered", search by NIK, import
    # matching) go through the blind indexes beside them, kept by every save.
    # The normalised 16 digits; as typed only on a record that needs correction.
    nik = EncryptedTextField(blank=True, verbose_name=_("NIK"))
    nik_bi = BlindIndexField(source="nik", purpose="nik", verbose_name=_("NIK blind index"))
    nik_status = models.CharField(
        max_length=10,
        choices=NikStatus.choices,
        default="unverified",
        db_default="unverified",
        verbose_name=_("NIK status"),
    )
    # The registry's or an operator's reason.
    nik_status_reason = models.CharField(
        max_length=200, blank=True, default="", db_default="", verbose_name=_("NIK status reason")
    )
    kk_number = EncryptedTextField(blank=True, verbose_name=_("family card number (No. KK)"))  # No. KK, the family card
    kk_bi = BlindIndexField(source="kk_number", purpose="kk", verbose_name=_("family card blind index"))
    full_name = models.CharField(max_length=150, blank=True, verbose_name=_("full name"))
    birth_date = models.DateField(null=True, blank=True, verbose_name=_("birth date"))
    birth_place = models.CharField(max_length=100, blank=True, verbose_name=_("birth place"))
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True, verbose_name=_("sex"))
    phone = EncryptedTextField(blank=True, verbose_name=_("phone"))  # E.164
    phone_bi = BlindIndexField(source="phone", purpose="phone", verbose_name=_("phone blind index"))
    address_street = models.CharField(max_length=200, blank=True, verbose_name=_("street address"))
    address_dusun = models.CharField(max_length=100, blank=True, verbose_name=_("hamlet (dusun)"))
    address_rt = models.CharField(max_length=3, blank=True, verbose_name=_("RT"))
    address_rw = models.CharField(max_length=3, blank=True, verbose_name=_("RW"))
    occupation = models.ForeignKey(
        Occupation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("occupation"),
    )
    kusuka_number = models.CharField(
        max_length=32, blank=True, verbose_name=_("KUSUKA card number")
    )  # fishers' KUSUKA card
    monthly_income = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("monthly income"))  # IDR
    mother_maiden_name = EncryptedTextField(blank=True, verbose_name=_("mother's maiden name"))
    # [{name, relationship, nik, phone}]: ahli waris, needed at claim time.
    heirs = EncryptedJSONField(default=list, blank=True, verbose_name=_("heirs"))
    consent_given_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consent given at"))
    consent_method = models.CharField(
        max_length=10, choices=ConsentMethod.choices, blank=True, verbose_name=_("consent method")
    )
    consent_recorded_by = models.CharField(max_length=150, blank=True, verbose_name=_("consent recorded by"))
    # The privacy notice the consent was given under and what for (PrivacyNotice; validated by
    # workers/validation.py, defaulting to the notice in force on the day of consent).
    consent_purpose = models.CharField(
        max_length=40, blank=True, default="", db_default="", verbose_name=_("consent purpose")
    )
    consent_notice_version = models.CharField(
        max_length=20, blank=True, default="", db_default="", verbose_name=_("consent notice version")
    )
    # Data-subject rights (enrolment/privacy): anonymised on request, or processing restricted.
    erased_at = models.DateTimeField(null=True, blank=True, verbose_name=_("erased at"))
    restricted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("restricted at"))
    # A tombstone left by a merge names the record that survived it (workers/duplicates).
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("merged into"),
    )

    class Meta(ClientRecord.Meta):
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        constraints = [
            *ClientRecord.Meta.constraints,
            # One live person per NIK, nationally (by its blind index). Tombstones, quarantined
            # records and people without a NIK yet don't count.
            models.UniqueConstraint(
                fields=["nik_bi"],
                condition=Q(deleted_at__isnull=True, needs_correction=False) & ~Q(nik_bi=""),
                name="worker_nik_bi_unique_live",
            ),
            models.CheckConstraint(
                condition=Q(needs_correction=True)
                | (
                    (Q(nik_bi__regex=r"^[0-9a-f]{32}$") | Q(nik_status="pending"))
                    & ~Q(full_name="")
                    & Q(birth_date__isnull=False)
                    & Q(sex__in=["M", "F"])
                    & Q(occupation__isnull=False)
                ),
                name="worker_complete_unless_flagged",
            ),
            models.CheckConstraint(condition=Q(nik_status__in=NikStatus.values), name="worker_nik_status_valid"),
            # Pending exactly when there is no NIK (an erased record keeps a random index: not pending).
            models.CheckConstraint(
                condition=Q(nik_status="pending", nik_bi="") | (~Q(nik_status="pending") & ~Q(nik_bi="")),
                name="worker_nik_pending_iff_no_nik",
            ),
            # A reason only says why a NIK is not (yet) usable.
            models.CheckConstraint(
                condition=Q(nik_status__in=NIK_FOLLOW_UP) | Q(nik_status_reason=""), name="worker_nik_reason"
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

    def address(self) -> dict[str, str]:
        """The address as the API nests it (a worker's representation, its input shape)."""
        return {
            "street": self.address_street,
            "dusun": self.address_dusun,
            "rt": self.address_rt,
            "rw": self.address_rw,
        }

    def consent(self) -> dict[str, str | None] | None:
        """The consent as the API shows it (a worker's representation, its input shape, the
        personal-data answer); None before consent was recorded."""
        if not self.consent_given_at:
            return None
        return {
            "given_at": iso_datetime(self.consent_given_at),
            "method": self.consent_method,
            "recorded_by": self.consent_recorded_by,
            "purpose": self.consent_purpose,
            "notice_version": self.consent_notice_version,
        }


# --- likely duplicates (workers/duplicates/) ----------------------------------------------------


MATCH_KEY_FIELDS = ("nik_key", "nik_part_key", "kk_key", "phone_key")  # MatchName's exact keys


class MatchName(models.Model):
    """What the duplicate finder searches a worker by (workers/duplicates/finder.py): its
    normalised name and birth date, and its exact keys (keys.py: digests of the NIK, the NIK's
    first 12 digits, the No. KK, the phone; '' for none). ONE row per worker, rewritten by every
    save of the worker: a row per key (the former workers_matchkey) cost a bulk save five rows
    and their index entries per worker (docs/dq.md "Speed").

    The worker is not a database foreign key. The row is derived data, written and removed only
    by the finder's own code in the transaction that saves or merges the worker; workers are
    never deleted (a deletion or merge is a tombstone, an erasure keeps the row), and Django's
    CASCADE still removes the row when a worker is deleted through the ORM. The candidate query
    reads every candidate from workers_worker by primary key and skips one that is missing or
    deleted, so a stray row could not produce a pair. A deferred foreign key checked each row at
    COMMIT (a lookup and a row lock of the worker per row: ~20 ms per 1,000 rows, docs/dq.md)."""

    worker = models.OneToOneField(
        Worker,
        primary_key=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
        verbose_name=_("worker"),
    )
    name_key = models.CharField(max_length=150, blank=True, verbose_name=_("name key"))  # workers/duplicates/names.py
    birth_date = models.DateField(null=True, blank=True, verbose_name=_("birth date"))
    nik_key = models.CharField(max_length=40, blank=True, default="", verbose_name=_("NIK key"))
    nik_part_key = models.CharField(max_length=40, blank=True, default="", verbose_name=_("NIK region and date key"))
    kk_key = models.CharField(max_length=40, blank=True, default="", verbose_name=_("family card key"))
    phone_key = models.CharField(max_length=40, blank=True, default="", verbose_name=_("phone key"))

    class Meta:
        # Candidates born on a date (or its day/month swap); pg_trgm compares the names in SQL.
        # Each exact key has its own index of the rows that have one (a record without a NIK
        # or phone adds no entry; the finder's queries say `<> ''` so the partial index applies).
        verbose_name = _("match name")
        verbose_name_plural = _("match names")
        indexes = [
            models.Index(fields=["birth_date"], name="matchname_birth_date"),
            *(
                models.Index(fields=[key], condition=~Q(**{key: ""}), name=f"matchname_{key}")
                for key in MATCH_KEY_FIELDS
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id}: {self.name_key}"


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("open")
    DISMISSED = "dismissed", _("dismissed")
    MERGED = "merged", _("merged")


class DuplicatePair(models.Model):
    """Two workers that may be one person, found by the server (workers/duplicates/finder.py).

    `a` is the smaller id: one row per pair whichever record was saved first. A dismissed pair
    stays dismissed (the finder never reopens it); a merged pair names the survivor."""

    a = models.ForeignKey(
        Worker, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("first worker")
    )
    b = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="+", verbose_name=_("second worker"))
    score = models.FloatField(verbose_name=_("score"))
    reasons = models.JSONField(default=list, verbose_name=_("reasons"))
    status = models.CharField(
        max_length=10, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN, verbose_name=_("status")
    )
    found_at = models.DateTimeField(auto_now_add=True, verbose_name=_("found at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    resolved_by = models.ForeignKey(
        "villages.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        verbose_name=_("resolved by"),
    )
    resolution_reason = models.CharField(max_length=500, blank=True, verbose_name=_("resolution reason"))
    survivor = models.ForeignKey(
        Worker,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        verbose_name=_("survivor"),
    )

    class Meta:
        verbose_name = _("duplicate pair")
        verbose_name_plural = _("duplicate pairs")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["a", "b"], name="duplicatepair_unique"),
            models.CheckConstraint(condition=Q(a__lt=models.F("b")), name="duplicatepair_ordered"),
            models.CheckConstraint(
                condition=~Q(status="merged") | Q(survivor__isnull=False), name="duplicatepair_merged_survivor"
            ),
        ]
        indexes = [models.Index(fields=["status", "id"], name="duplicatepair_status")]

    def __str__(self) -> str:
        return f"{self.a_id} ~ {self.b_id} ({self.score:.2f}, {self.status})"
