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

    code = models.CharField(primary_key=True, max_length=13, verbose_name=_("code"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    level = models.CharField(max_length=8, choices=AreaLevel.choices, verbose_name=_("level"))
    kind = models.CharField(max_length=10, choices=AreaKind.choices, verbose_name=_("kind"))
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent area")
    )
    postal_code = models.CharField(max_length=5, blank=True, verbose_name=_("postal code"))
    # The decree the row was loaded from, e.g. "Kepmendagri 300.2.2-2138/2025".
    source_decree = models.CharField(max_length=64, verbose_name=_("source decree"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
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

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="targets", verbose_name=_("area"))
    year = models.PositiveSmallIntegerField(verbose_name=_("year"))
    target_workers = models.PositiveIntegerField(verbose_name=_("target workers"))
    budget_idr = models.PositiveBigIntegerField(verbose_name=_("budget (IDR)"))
    updated_by = models.ForeignKey(
        "villages.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("area target")
        verbose_name_plural = _("area targets")
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
    full_name = models.CharField(max_length=150, blank=True, verbose_name=_("full name"))
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER, verbose_name=_("role"))

    REQUIRED_FIELDS = ["email"]

    objects: ClassVar[OfficialManager] = OfficialManager()

    class Meta:
        verbose_name = _("official")
        verbose_name_plural = _("officials")
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

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("user"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("area"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["user_id", "area_id"]
        constraints = [models.UniqueConstraint(fields=["user", "area"], name="assignment_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.area_id}"


class Device(models.Model):  # type: ignore[django-manager-missing]  # `tokens`: DeviceToken's base is knox's, untyped
    """A phone (or browser) an official logged in from; one live token per device.

    `device_id` is what the app reports; two officials sharing one phone are two devices.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="devices", verbose_name=_("user"))
    device_id = models.CharField(max_length=64, verbose_name=_("device ID"))
    name = models.CharField(max_length=100, blank=True, verbose_name=_("name"))
    app_version = models.CharField(max_length=32, blank=True, verbose_name=_("app version"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_login_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last login at"))
    last_seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last seen at"))
    last_pull_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last pull at"))
    last_push_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last push at"))
    # Records waiting on the phone, as the app last reported it.
    pending_count = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("pending count"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["-last_seen_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["user", "device_id"], name="device_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.device_id}"


class DeviceToken(AbstractAuthToken):
    """knox's hashed, expiring token, tied to the device it was issued to (KNOX_TOKEN_MODEL)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="tokens", verbose_name=_("device"))

    class Meta:
        verbose_name = _("device token")
        verbose_name_plural = _("device tokens")
        ordering = ["-created"]


# knox's fields carry no verbose names (the admin would show them in English): named here, on
# DeviceToken's own copies of them.
for _name, _label in {
    "digest": _("digest"),
    "token_key": _("token key"),
    "user": _("user"),
    "created": _("created at"),
    "expiry": _("expires at"),
}.items():
    _field = DeviceToken._meta.get_field(_name)
    _field.verbose_name = _field._verbose_name = _label  # _verbose_name: what migrations read


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

    at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("time"))
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_username = models.CharField(max_length=150, blank=True, verbose_name=_("actor username"))
    device = models.BigIntegerField(null=True, blank=True, verbose_name=_("device"))
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("IP address"))
    action = models.CharField(max_length=10, choices=AuditAction.choices, verbose_name=_("action"))
    object_type = models.CharField(max_length=20, verbose_name=_("object type"))
    object_id = models.CharField(max_length=64, blank=True, verbose_name=_("object ID"))
    # The village (or area) the object belongs to, so audit views can be scoped like data.
    area_code = models.CharField(max_length=13, blank=True, verbose_name=_("area code"))
    # {field: [before, after]} for changes; NIK-like values masked.
    changes = models.JSONField(null=True, blank=True, verbose_name=_("changes"))
    # Anything else worth knowing: {"full_nik": true}, {"reason": ...}, {"count": 1000}, filters.
    context = models.JSONField(default=dict, blank=True, verbose_name=_("context"))

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
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

    value = models.BigIntegerField(default=0, verbose_name=_("value"))

    class Meta:
        verbose_name = _("sync clock")
        verbose_name_plural = _("sync clocks")

    def __str__(self) -> str:
        return str(self.value)


class SyncSnapshot(models.Model):
    """The snapshot a PostgreSQL pull read, kept so the next pull can ask exactly which writes it
    did not see (villages/sync_clock.py). The device's cursor is this row's id."""

    id = models.BigAutoField(primary_key=True, verbose_name=_("ID"))
    # pg_snapshot as text: "xmin:xmax:xip,xip,…"
    snapshot = models.TextField(verbose_name=_("snapshot"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("sync snapshot")
        verbose_name_plural = _("sync snapshots")

    def __str__(self) -> str:
        return f"{self.pk}: {self.snapshot}"


class RecordMove(models.Model):
    """A synced record left a village (its village changed); written by a trigger."""

    table = models.CharField(max_length=32, verbose_name=_("table"))  # "workers" or "enrolments", the sync table names
    record_id = models.CharField(max_length=64, verbose_name=_("record ID"))
    from_village = models.CharField(max_length=13, verbose_name=_("from village"))
    to_village = models.CharField(max_length=13, verbose_name=_("to village"))
    sync_txid = models.BigIntegerField(default=0, db_default=0, editable=False, verbose_name=_("sync transaction"))

    class Meta:
        verbose_name = _("record move")
        verbose_name_plural = _("record moves")
        indexes = [models.Index(fields=["sync_txid"], name="recordmove_txid")]

    def __str__(self) -> str:
        return f"{self.table}/{self.record_id}: {self.from_village} → {self.to_village}"


class ScopeChange(models.Model):
    """An area added to or removed from an official (an Assignment row inserted or deleted);
    written by a trigger, so changes through the API and through the admin are both seen."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="+", db_constraint=False, verbose_name=_("user")
    )
    area_code = models.CharField(max_length=13, verbose_name=_("area code"))
    added = models.BooleanField(verbose_name=_("added"))
    sync_txid = models.BigIntegerField(default=0, db_default=0, editable=False, verbose_name=_("sync transaction"))

    class Meta:
        verbose_name = _("scope change")
        verbose_name_plural = _("scope changes")
        indexes = [models.Index(fields=["user", "sync_txid"], name="scopechange_user_txid")]

    def __str__(self) -> str:
        return f"{self.user_id} {'+' if self.added else '-'}{self.area_code}"
