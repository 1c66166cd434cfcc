"""Reads only the panel needs: what a NIK says about its holder, likely duplicates of a person,
and a person's history as sentences. Everything goes through the scope helper."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from enrolment.models import Status
from villages.models import Area, AreaTarget, AuditAction, AuditEvent, User
from villages.scope import scope_of
from workers.models import Worker
from workers.nik import check_nik
from workers.selectors import worker_list

NONE = "\u2013"  # an en dash where a value is missing


@dataclass(frozen=True)
class NikReading:
    """What the NIK's digits say: where it was first issued, the birth date, the sex."""

    region: str
    birth_dates: tuple[dt.date, ...]
    sex: str | None


def nik_reading(worker: Worker) -> NikReading | None:
    check = check_nik(worker.nik)
    if check.nik is None or not check.valid:
        return None
    digits = check.nik
    district = f"{digits[0:2]}.{digits[2:4]}.{digits[4:6]}"
    names = dict(Area.objects.filter(code__in=[digits[0:2], district[:5], district]).values_list("code", "name"))
    region = ", ".join(names[c] for c in (district, district[:5], digits[0:2]) if c in names)
    return NikReading(
        region=region or _("not in the current region table"), birth_dates=check.birth_dates, sex=check.sex
    )


def possible_duplicates(*, user: User, worker: Worker, limit: int = 5) -> list[Worker]:
    """People the caller sees with the same name and birth date, or the same NIK (the same rule
    as the `possible_duplicate` warning, widened to the caller's areas)."""
    same = Q(full_name__iexact=worker.full_name, birth_date=worker.birth_date)
    if worker.nik_bi:  # NIKs are encrypted at rest: equal NIKs have equal blind indexes
        same |= Q(nik_bi=worker.nik_bi)
    return list(worker_list(user=user).filter(same).exclude(id=worker.id).select_related("village")[:limit])


ACTION_SENTENCES = {
    AuditAction.CREATE: gettext_noop("%(who)s registered this record"),
    AuditAction.UPDATE: gettext_noop("%(who)s changed %(fields)s"),
    AuditAction.DELETE: gettext_noop("%(who)s deleted this record"),
    AuditAction.STATUS: gettext_noop("%(who)s changed the status from %(before)s to %(after)s"),
    AuditAction.VIEW: gettext_noop("%(who)s viewed this record"),
    AuditAction.LIST: gettext_noop("%(who)s saw this record in a list"),
    AuditAction.EXPORT: gettext_noop("%(who)s exported this record"),
    AuditAction.IMPORT: gettext_noop("%(who)s imported this record"),
    AuditAction.SYNC_PULL: gettext_noop("%(who)s received this record on a device"),
    AuditAction.SYNC_PUSH: gettext_noop("%(who)s sent this record from a device"),
}


@dataclass(frozen=True)
class HistoryLine:
    at: dt.datetime
    sentence: str
    reason: str


def history(*, user: User, worker: Worker, enrolment_ids: list[str], limit: int = 100) -> list[HistoryLine]:
    """The audit log of one person and their enrolments, newest first, as sentences."""
    if not scope_of(user).covers(worker.village_id):
        return []
    events = AuditEvent.objects.filter(
        Q(object_type="worker", object_id=worker.id) | Q(object_type="enrolment", object_id__in=enrolment_ids)
    ).order_by("-at", "-id")[:limit]
    labels = dict(Status.choices)
    lines = []
    for event in events:
        who = event.actor_username or _("the system")
        changes = event.changes or {}
        before, after = (changes.get("status") or [None, None])[:2]
        template = ACTION_SENTENCES.get(AuditAction(event.action), gettext_noop("%(who)s: %(action)s"))
        fields = ", ".join(sorted(changes)) or NONE
        sentence = _(template) % {
            "who": who,
            "fields": fields,
            "before": labels.get(before, before or NONE),
            "after": labels.get(after, after or NONE),
            "action": event.action,
        }
        if event.object_type == "enrolment":
            sentence = _("Enrolment %(id)s: %(sentence)s") % {"id": event.object_id, "sentence": sentence}
        lines.append(HistoryLine(at=event.at, sentence=sentence, reason=str((event.context or {}).get("reason", ""))))
    return lines


def targets_below(*, user: User, year: int) -> list[tuple[Area, AreaTarget | None]]:
    """The caller's assigned areas and the areas one level below each, with their target for the
    year (None when not set), in code order."""
    scope = scope_of(user)
    codes = (
        list(scope.codes)
        if not scope.everything
        else list(Area.objects.filter(level="province").values_list("code", flat=True))
    )
    areas = list(Area.objects.filter(Q(code__in=codes) | Q(parent_id__in=codes), active=True).order_by("code"))
    areas = [a for a in areas if scope.covers(a.code)]
    targets = {t.area_id: t for t in AreaTarget.objects.filter(year=year, area__in=areas)}
    return [(area, targets.get(area.code)) for area in areas]
