"""Kemendagri areas, their yearly targets, and the officials who work in them.

An area code is a materialised path ("17" → "17.04" → "17.04.01" → "17.04.01.2001"), so
"everything under an area" is a prefix match on the code; the scoping in `villages.scope` relies
on that and on the pattern index PostgreSQL gets for a CharField primary key.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken

AREA_CODE_REGEX = r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$"


class AreaLevel(models.TextChoices):
    PROVINCE = "province", _("province")
    REGENCY = "regency", _("regency/city")
    DISTRICT = "district", _("district")
    VILLAGE = "village", _("village")


# Code depth (number of dotted parts) → level.
LEVEL_BY_DEPTH = {1: AreaLevel.PROVINCE, 2: AreaLevel.REGENCY, 3: AreaLevel.DISTRICT, 4: AreaLevel.VILLAGE}


class AreaKind(models.TextChoices):
    PROVINSI = "provinsi", "provinsi"
    KABUPATEN = "kabupaten", "kabupaten"
    KOTA = "kota", "kota"
    KECAMATAN = "kecamatan", "kecamatan"
    DISTRIK = "distrik", "distrik"  # Papua's districts
    DESA = "desa", "desa"
    KELURAHAN = "kelurahan", "kelurahan"
    DESA_ADAT = "desa_adat", "desa adat"


class Area(models.Model):
    """A province, regency/city, district or village, keyed by its Kemendagri code.

    Codes that disappear from the source (regions split or merged) are kept inactive, never
    deleted: workers, targets and history still point at them.
    """

    code = models.CharField(primary_key=True, max_length=13)
    name = models.CharField(max_length=120)
    level = models.CharField(max_length=8, choices=AreaLevel.choices)
    kind = models.CharField(max_length=10, choices=AreaKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    postal_code = models.CharField(max_length=5, blank=True)
    # The decree the row was loaded from, e.g. "Kepmendagri 300.2.2-2138/2025".
    source_decree = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=AREA_CODE_REGEX), name="area_code_format"),
            models.CheckConstraint(
                condition=Q(level=AreaLevel.PROVINCE, parent__isnull=True)
                | (~Q(level=AreaLevel.PROVINCE) & Q(parent__isnull=False)),
                name="area_parent_iff_not_province",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class AreaTarget(models.Model):
    """How many workers an area aims to cover in a budget year, and the money set aside (IDR)."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="targets")
    year = models.PositiveSmallIntegerField()
    target_workers = models.PositiveIntegerField()
    budget_idr = models.PositiveBigIntegerField()
    updated_by = models.ForeignKey("villages.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["area_id", "year"]
        constraints = [
            models.UniqueConstraint(fields=["area", "year"], name="area_target_one_per_year"),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="area_target_year_range"),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.year}: {self.target_workers}"


class Role(models.TextChoices):
    FIELD_OFFICER = "field_officer", _("field officer")
    VILLAGE_OPERATOR = "village_operator", _("village operator")
    SUPERVISOR = "supervisor", _("supervisor")
    VIEWER = "viewer", _("viewer")
    ADMIN = "admin", _("administrator")


class OfficialManager(UserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        # createsuperuser (also non-interactive, from DJANGO_SUPERUSER_*) makes an admin.
        extra.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):  # type: ignore[django-manager-missing]  # knox (untyped) adds auth_token_set
    """An official: one role, assigned to one or more areas (see Assignment)."""

    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    REQUIRED_FIELDS = ["email"]

    objects: ClassVar[OfficialManager] = OfficialManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
        ]

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def get_short_name(self) -> str:
        return self.full_name or self.username


class Assignment(models.Model):
    """An official's area. It covers the area and everything below it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user_id", "area_id"]
        constraints = [models.UniqueConstraint(fields=["user", "area"], name="assignment_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.area_id}"


class Device(models.Model):  # type: ignore[django-manager-missing]  # `tokens`: DeviceToken's base is knox's, untyped
    """A phone (or browser) an official logged in from; one live token per device.

    `device_id` is what the app reports; two officials sharing one phone are two devices.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="devices")
    device_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100, blank=True)
    app_version = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    last_push_at = models.DateTimeField(null=True, blank=True)
    # Records waiting on the phone, as the app last reported it.
    pending_count = models.PositiveIntegerField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["user", "device_id"], name="device_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.device_id}"


class DeviceToken(AbstractAuthToken):
    """knox's hashed, expiring token, tied to the device it was issued to (KNOX_TOKEN_MODEL)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="tokens")

    class Meta:
        ordering = ["-created"]


class AuditAction(models.TextChoices):
    VIEW = "view", _("viewed")
    LIST = "list", _("listed")
    CREATE = "create", _("created")
    UPDATE = "update", _("changed")
    DELETE = "delete", _("deleted")
    STATUS = "status", _("changed status")
    EXPORT = "export", _("exported")
    IMPORT = "import", _("imported")
    SYNC_PULL = "sync_pull", _("synced to a device")
    SYNC_PUSH = "sync_push", _("synced from a device")
    ERASE = "erase", _("erased on request")
    RESTRICT = "restrict", _("restricted on request")
    ALARM = "alarm", _("bulk access alarm")


class AuditEvent(models.Model):
    """Who viewed, changed, deleted or exported personal data, and when. Append-only.

    The table refuses UPDATE and DELETE at the database level (a trigger, see the migration),
    no endpoint writes it except through `villages.audit`, and the admin shows it read-only.
    NIK-like values inside `changes` are masked: the log must not become a second copy of them.
    `actor` is not a real foreign key, so deleting an official never needs to touch the log.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    device = models.BigIntegerField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    object_type = models.CharField(max_length=20)
    object_id = models.CharField(max_length=64, blank=True)
    # The village (or area) the object belongs to, so audit views can be scoped like data.
    area_code = models.CharField(max_length=13, blank=True)
    # {field: [before, after]} for changes; NIK-like values masked.
    changes = models.JSONField(null=True, blank=True)
    # Anything else worth knowing: {"full_nik": true}, {"reason": ...}, {"count": 1000}, filters.
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["area_code", "at"], name="audit_area_at"),
            models.Index(fields=["actor", "at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_type} {self.object_id}"


# --- offline sync: the change clock and what it cannot see in the records themselves -------------
#
# Every synced row (workers, enrolments) carries `sync_txid`: the id of the transaction that last
# wrote it, stamped by a database trigger (villages/sync_clock.py explains the technique). Two
# things a device must learn about are not changes of a row it may still see: a record moving out
# of its village, and the official's own areas changing. These tables record them, stamped the same
# way, also by triggers, so no code path (admin, import, Celery, a queryset update) can forget them.


class SyncClock(models.Model):
    """The embedded (SQLite) mode's clock: one row, incremented by the triggers on every write.

    SQLite runs one writer at a time, so a counter bumped inside each write orders writes exactly
    as they commit. PostgreSQL uses transaction ids instead and never touches this table.
    """

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.value)


class SyncSnapshot(models.Model):
    """The snapshot a PostgreSQL pull read, kept so the next pull can ask exactly which writes it
    did not see (villages/sync_clock.py). The device's cursor is this row's id."""

    id = models.BigAutoField(primary_key=True)
    # pg_snapshot as text: "xmin:xmax:xip,xip,…"
    snapshot = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.pk}: {self.snapshot}"


class RecordMove(models.Model):
    """A synced record left a village (its village changed); written by a trigger."""

    table = models.CharField(max_length=32)  # "workers" or "enrolments", the sync table names
    record_id = models.CharField(max_length=64)
    from_village = models.CharField(max_length=13)
    to_village = models.CharField(max_length=13)
    sync_txid = models.BigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        indexes = [models.Index(fields=["sync_txid"], name="recordmove_txid")]

    def __str__(self) -> str:
        return f"{self.table}/{self.record_id}: {self.from_village} → {self.to_village}"


class ScopeChange(models.Model):
    """An area added to or removed from an official (an Assignment row inserted or deleted);
    written by a trigger, so changes through the API and through the admin are both seen."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    area_code = models.CharField(max_length=13)
    added = models.BooleanField()
    sync_txid = models.BigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        indexes = [models.Index(fields=["user", "sync_txid"], name="scopechange_user_txid")]

    def __str__(self) -> str:
        return f"{self.user_id} {'+' if self.added else '-'}{self.area_code}"
