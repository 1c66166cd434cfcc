"""Writing the audit log. The only code that creates AuditEvent rows.

Services call these inside their transaction, so an event exists exactly when its change does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, QuerySet
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

# --- People seen in a list, an export or a sync pull ----------------------------------------------
# A read of many records is one event (its count and filters); who was in it is one more row per
# person, `worker` + the person's id + their village, context {"of": <that event's id>}: so a
# person's access log and a user's people touched (enrolment/privacy) hold them like single
# views, and a breach notice names everyone a leaked account saw. The rows carry ids only, never
# a value; they are written in one statement per read (COPY, or INSERT … SELECT for an export).

PERSON = "worker"


def audit_people(actor: Actor, of: AuditEvent, people: Iterable[tuple[str, str]]) -> int:
    """One row per distinct person of `people` ((worker id, village code) pairs) seen in the
    read `of` (its action). Answers how many."""
    seen = dict(people)
    seen.pop("", None)
    context = {"of": of.pk}
    audit_events(actor, [AuditEntry(of.action, PERSON, wid, area, None, context) for wid, area in seen.items()])
    return len(seen)


def audit_people_in(
    actor: Actor, of: AuditEvent, queryset: QuerySet[Any], *, person: str = "id", village: str = "village_id"
) -> int:
    """The same for every person a queryset selects (`person` and `village` name their columns,
    e.g. "worker_id" for enrolments), in one INSERT … SELECT: an export of 100,000 people never
    travels through Python. Answers how many rows were written."""
    selected = (
        queryset.order_by()
        .annotate(audit_person=F(person), audit_area=F(village))
        .values_list("audit_person", "audit_area")
        .distinct()
    )
    try:
        inner, inner_params = selected.query.get_compiler(using=selected.db).as_sql()
    except EmptyResultSet:
        return 0  # a filter Django proves empty (`id__in=[]`) compiles to no SQL at all: nobody seen
    fields = _actor_fields(actor)
    postgres = connection.vendor == "postgresql"
    json_cast, inet_cast = ("::jsonb", "::inet") if postgres else ("", "")
    table = AuditEvent._meta.db_table
    sql = (
        f'INSERT INTO "{table}" (at, actor_id, actor_username, device, ip, action, object_type, object_id,'  # noqa: S608
        f" area_code, changes, context) SELECT %s, %s, %s, %s, %s{inet_cast}, %s, %s, people.audit_person,"
        f" people.audit_area, NULL, %s{json_cast} FROM ({inner}) AS people"
    )
    params = [
        connection.ops.adapt_datetimefield_value(timezone.now()),
        fields["actor_id"],
        fields["actor_username"],
        fields["device"],
        fields["ip"],
        of.action,
        PERSON,
        json.dumps({"of": of.pk}),
        *inner_params,
    ]
    # The outer values come first in the text, the inner SELECT's parameters after them.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


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
