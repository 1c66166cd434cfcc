"""Writing the audit log. The only code that creates AuditEvent rows.

Services call these inside their transaction, so an event exists exactly when its change does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone
from rest_framework.request import Request

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
        return cls(user=request.user, device=device, ip=client_address(request) or None)

    @classmethod
    def system(cls) -> Actor:
        return cls(user=None)


def mask_nik(value: str | None) -> str:
    """`1704014101900001` → `1704********0001`; anything shorter is fully hidden."""
    if not value:
        return ""
    if len(value) < 9:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


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


def audit_events(
    actor: Actor, events: Iterable[tuple[str, str, str, str, dict[str, Any] | None, dict[str, Any] | None]]
) -> None:
    """Many events in one INSERT: (action, object_type, object_id, area_code, changes, context)."""
    rows = [_fields(actor, *event) for event in events]
    if not rows:
        return
    if connection.vendor == "postgresql":
        _insert_postgresql(rows)
        return
    AuditEvent.objects.bulk_create([AuditEvent(**row) for row in rows], batch_size=1000)


# The columns of a bulk insert on PostgreSQL, with their SQL types.
_COLUMNS = {
    "actor_id": "bigint",
    "actor_username": "text",
    "device": "bigint",
    "ip": "inet",
    "action": "text",
    "object_type": "text",
    "object_id": "text",
    "area_code": "text",
    "changes": "jsonb",
    "context": "jsonb",
}


def _insert_postgresql(rows: list[dict[str, Any]]) -> None:
    """The rows as one JSON document unpacked by jsonb_to_recordset: for 1,000 events one short
    statement instead of 11,000 parameters (bulk_create spent ~0.1 s of Python per 1,000)."""
    document = json.dumps(
        [
            {
                **{name: row[name] for name in _COLUMNS if name != "actor_id"},
                "actor_id": row["actor"].pk if row["actor"] is not None else None,
            }
            for row in rows
        ],
        separators=(",", ":"),
    )
    names = ", ".join(_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AuditEvent._meta.db_table} (at, {names})"  # noqa: S608 (fixed names)
            f" SELECT %s, {', '.join('r.' + name for name in _COLUMNS)}"
            f" FROM jsonb_to_recordset(%s::jsonb) AS r({', '.join(f'{n} {t}' for n, t in _COLUMNS.items())})",
            [timezone.now(), document],
        )


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
        "actor": actor.user,
        "actor_username": actor.user.get_username() if actor.user else "system",
        "device": actor.device,
        "ip": actor.ip,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "area_code": area_code,
        "changes": changes,
        "context": context or {},
    }
