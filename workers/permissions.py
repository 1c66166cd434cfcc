"""Personal data: who may see a full NIK, and what a read of people's records leaves in the audit log.

The one home of both rules (API.md: full NIKs only for field officers and operators of the
record's own village, on single records, masked everywhere else; every view, list and export of
personal data is audited). The API's views, the sync pull, exports and the panel ask here.
Which role may call which endpoint at all is villages/permissions.py; which records a caller
sees is villages/scope.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from villages.audit import Actor, audit_event, audit_people, mask_nik
from villages.models import AuditAction, Role, User
from villages.scope import scope_of
from workers.models import Worker
from workers.nik import normalise_nik

logger = logging.getLogger(__name__)

# Roles that work with people face to face, and so see their full NIK (in their own villages).
FULL_NIK_ROLES = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR)


def may_see_full_nik(user: User, village_code: str) -> bool:
    """Full NIK (and KK, heirs' NIKs) for field officers and operators of the record's own
    village; everyone else, and every list, gets them masked (`1704********0001`)."""
    return user.role in FULL_NIK_ROLES and scope_of(user).covers(village_code)


def may_export_full_nik(user: User) -> bool:
    """`full_nik=true` on an export: village operators only. Of the roles that see full NIKs,
    only operators export, and an operator's areas are villages, so every row of its export is
    one it may see in full on a single record."""
    return user.role == Role.VILLAGE_OPERATOR


def is_nik_like(text: str) -> bool:
    digits = normalise_nik(text)
    return len(digits) == 16 and digits.isascii() and digits.isdigit()


def filters_for_audit(filters: Mapping[str, object]) -> dict[str, str]:
    """The filters of a read as the audit log keeps them: a NIK searched for is masked (the log
    must not become a second copy of NIKs), unset filters left out."""
    kept: dict[str, str] = {}
    for name, value in filters.items():
        if value is None:
            continue
        text = str(value)
        if name == "q" and is_nik_like(text):
            text = mask_nik(normalise_nik(text))
        kept[name] = text
    return kept


def audit_list(
    actor: Actor,
    object_type: str,
    *,
    count: int,
    filters: Mapping[str, object],
    object_id: str = "",
    area_code: str = "",
    people: Iterable[tuple[str, str]],
    **context: Any,
) -> None:
    """A page of people's records was read (a list, the verification queue, an import's rows):
    one event with the count and filters, and one row per person on the page (`people`: (worker
    id, village) pairs; villages.audit.audit_people), in one more statement. `people` has no
    default: a new list must say whom it showed (audit/access and the access log read these
    rows), or `()` when its rows are nobody's."""
    event = audit_event(
        actor,
        AuditAction.LIST,
        object_type,
        object_id,
        area_code=area_code,
        context={"count": count, **context, "filters": filters_for_audit(filters)},
    )
    audit_people(actor, event, people)


def count_bulk_access(actor: Actor, people: int, *, what: str) -> bool:
    """Counts people whose full NIK a user saw or whom they exported, per clock hour; the first
    time the count passes BULK_ACCESS_ALARM_PEOPLE_PER_HOUR in an hour, a WARNING is logged and
    an `alarm` event audited (the admin lists them: audit events, action "bulk access alarm").
    True when this call raised the alarm."""
    user = actor.user
    limit = settings.BULK_ACCESS_ALARM_PEOPLE_PER_HOUR
    if user is None or people <= 0 or limit <= 0:
        return False
    hour = timezone.now().strftime("%Y%m%d%H")
    key = f"pii-access:{user.pk}:{hour}"
    cache.add(key, 0, timeout=2 * 3600)
    total = cache.incr(key, people)
    if total - people > limit or total <= limit:
        return False
    logger.warning("bulk access alarm: user %s reached %s people in hour %s (%s)", user.pk, total, hour, what)
    audit_event(actor, AuditAction.ALARM, "user", str(user.pk), context={"people": total, "limit": limit, "what": what})
    return True


def audit_view(actor: Actor, worker: Worker, *, full_nik: bool, **context: Any) -> None:
    """One person's record was read, with or without the full NIK."""
    if full_nik:
        count_bulk_access(actor, 1, what="full_nik")
    audit_event(
        actor,
        AuditAction.VIEW,
        "worker",
        worker.id,
        area_code=worker.village_id,
        context={"full_nik": full_nik, **context},
    )
