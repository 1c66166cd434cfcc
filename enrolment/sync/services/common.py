"""What the pull and the push share: the tables, the roles, the errors, the device's health."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError
from villages.models import Device, Role

TABLES = ("workers", "enrolments")

MAX_PUSH_RECORDS = 5_000  # a day offline is a few hundred; more is a broken client

PULL_ROLES = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.SUPERVISOR)

PUSH_ROLES = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR)


class SyncConflict(ServiceError):
    code = "sync_conflict"
    status_code = 409
    default_message = _(
        "Some records were changed on the server since your last pull. Pull, then push again; nothing was applied."
    )


class TooManyRecords(ServiceError):
    code = "too_many_records"
    status_code = 413
    default_message = _("Too many records in one push.")


def record_pending(device: Device | None, pending: int | None) -> None:
    """The app's count of records waiting on the phone (X-Pending-Changes), on any sync call."""
    if device is not None and pending is not None:
        Device.objects.filter(pk=device.pk).update(pending_count=pending)
