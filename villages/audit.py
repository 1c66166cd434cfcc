"""Writing the audit log. The only code that creates AuditEvent rows.

Services call these inside their transaction, so an event exists exactly when its change does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.utils import timezone
from rest_framework.request import Request

from config.bulk import insert_rows
from villages.auth import client_address
from villages.models import AuditEvent, DeviceToken, User


@dataclass(frozen=True)
class Actor:
    """Who is acting: an official on a device (from a request), or the system (Celery)."""

    user: User | None
    device: int | None = None
    ip: str | None = None

    @classmethod
    def from_request(cls, request: Request) -> Actor:
        device = request.auth.device_id if isinstance(request.auth, DeviceToken) else None
        user = request.user if isinstance(request.user, User) else None  # anonymous: as the system
        return cls(user=user, device=device, ip=client_address(request) or None)

    @classmethod
    def system(cls) -> Actor:
        return cls(user=None)


class AuditEntry(NamedTuple):
    """One audit event to write: what happened (`AuditAction`), to which object, in which area,
    with the changes (`{field: [before, after]}`) and context. Services collect these while they
    decide and write them with `audit_events`, in one statement, inside their transaction. A
    tuple, so a thousand of them cost what the rows cost (config.bulk sends them as they are)."""

    action: str
    object_type: str
    object_id: str = ""
    area_code: str = ""
    changes: dict[str, Any] | None = None
    context: dict[str, Any] | None = None


def mask_nik(value: str | None) -> str:
    """`1704014101900001` → `1704********0001`; anything shorter is fully hidden."""
    if not value:
        return ""
    if len(value) < 9:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """`+6281234567890` → `+62*******7890`: the country code and the last four digits."""
    if not value:
        return ""
    if len(value) < 9:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def redact(value: Any) -> str:
    """What the audit log keeps of a personal value that changed: that there is one, never
    what it is ('' stays '', so setting and clearing remain visible)."""
    return "***" if value not in (None, "", [], {}) else ""


def audit_event(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str = "",
    *,
    area_code: str = "",
    changes: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(**_fields(actor, action, object_type, object_id, area_code, changes, context))


def audit_events(actor: Actor, events: Iterable[AuditEntry]) -> None:
    """Many events in one statement (COPY on PostgreSQL, see config.bulk), all by `actor`."""
    events = list(events)
    if not events:
        return
    actor_fields = _actor_fields(actor)
    actor_values = tuple(actor_fields[name] for name in _ACTOR_FIELDS)
    at = timezone.now()
    insert_rows(
        AuditEvent,
        ("at", *_ACTOR_FIELDS, "action", "object_type", "object_id", "area_code", "changes", "context"),
        (
            (at, *actor_values, action, object_type, object_id, area_code, changes, context or {})
            for action, object_type, object_id, area_code, changes, context in events
        ),
    )


_ACTOR_FIELDS = ("actor_id", "actor_username", "device", "ip")


def _actor_fields(actor: Actor) -> dict[str, Any]:
    return {
        "actor_id": actor.user.pk if actor.user else None,
        "actor_username": actor.user.get_username() if actor.user else "system",
        "device": actor.device,
        "ip": actor.ip,
    }


def _fields(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    area_code: str,
    changes: dict[str, Any] | None,
    context: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        **_actor_fields(actor),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "area_code": area_code,
        "changes": changes,
        "context": context or {},
    }
