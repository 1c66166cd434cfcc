"""Reads only the panel needs: what a NIK says about its holder, likely duplicates of a person,
a person's history as sentences, and the budget year's summaries (decrees with their payments, a
renewal's decisions by reason, overdue claims). Everything goes through the scope helper or the
budget year's own selectors (enrolment.funding)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from enrolment.funding.allocations import allocation_list
from enrolment.funding.deaths import CLAIM_ROLES, claim_list
from enrolment.funding.models import Claim, RenewalJob
from enrolment.funding.renewals.jobs import RENEWAL_ROLES, renewal_rows
from enrolment.models import FundingAllocation, Status
from enrolment.registry.models import BatchStatus
from enrolment.registry.selectors import registry_batches_visible
from enrolment.selectors import enrolment_list
from villages.models import Area, AreaTarget, AuditAction, AuditEvent, Role, User
from villages.scope import scope_of
from villages.selectors import device_list
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


# --- the budget year ---------------------------------------------------------------------------


def allocations_with_payments(*, user: User, budget_year: int | None = None) -> QuerySet[FundingAllocation]:
    """The caller's decrees (allocation_list, as GET /funding/allocations), newest year first,
    each with `payment_count` and `paid_idr` (the payments recorded against it)."""
    return (
        allocation_list(user=user, budget_year=budget_year)
        .select_related("area", "funding_source")
        .annotate(payment_count=Count("payments"), paid_idr=Sum("payments__amount_idr"))
        .order_by("-budget_year", "area_id", "decree_number")
    )


def allocations_nearly_exhausted(*, user: User) -> QuerySet[FundingAllocation]:
    """Decrees committing at least PANEL_ALLOCATION_NEARLY_EXHAUSTED_PERCENT of their quota or
    amount (integer arithmetic: committed * 100 >= limit * percent)."""
    share = settings.PANEL_ALLOCATION_NEARLY_EXHAUSTED_PERCENT
    return (
        allocation_list(user=user)
        .alias(people_share=F("committed_workers") * 100, money_share=F("committed_idr") * 100)
        .filter(
            Q(quota_workers__gt=0, people_share__gte=F("quota_workers") * share)
            | Q(amount_idr__gt=0, money_share__gte=F("amount_idr") * share)
        )
    )


@dataclass(frozen=True)
class RenewalGroup:
    outcome: str
    reason: str
    people: int
    cost_idr: int


def renewal_groups(job: RenewalJob) -> list[RenewalGroup]:
    """A renewal's decisions counted by outcome and reason, with the twelve months' cost of each
    (the left out beyond the quota or the amount were priced too: what keeping them would cost)."""
    groups = (
        renewal_rows(job=job)
        .values("outcome", "reason")
        .annotate(people=Count("position"), cost=Sum("cost_idr"))
        .order_by("outcome", "reason")
    )
    return [RenewalGroup(g["outcome"], g["reason"], g["people"], g["cost"] or 0) for g in groups]


def claims_filtered(
    *,
    user: User,
    status: str | None = None,
    program: str | None = None,
    covered: bool | None = None,
    area: str | None = None,
    overdue: bool = False,
) -> QuerySet[Claim]:
    """claim_list (as GET /claims) with the panel's further filters; `overdue`: still waiting for
    documents PANEL_CLAIM_WAITING_DAYS or longer (claim_list's `waiting_days`)."""
    claims = claim_list(
        user=user, status=status, area=area, waiting_days=settings.PANEL_CLAIM_WAITING_DAYS if overdue else None
    )
    if program:
        claims = claims.filter(program=program)
    if covered is not None:
        claims = claims.filter(covered=covered)
    return claims


def overdue_claim_ids(*, user: User, ids: list[str]) -> set[str]:
    """Which of these claims are overdue (the same test as the `overdue` filter)."""
    return set(claims_filtered(user=user, overdue=True).filter(id__in=ids).values_list("id", flat=True))


@dataclass(frozen=True)
class Tile:
    """One figure of the Beranda: what it counts, how many, and the list it links to."""

    label: str
    count: int
    url: str
    query: str = ""


def home_tiles(*, user: User) -> list[Tile]:
    """The Beranda's figures the caller's role may follow, each counted in the caller's scope:
    waiting for verification, records needing correction, failed registry batches, devices
    silent for PANEL_STALE_DEVICE_DAYS, claims with overdue documents, decrees nearly exhausted."""
    from panel import access  # the page rules; access imports nothing of the panel's reads

    tiles = []
    if access.may(user, access.QUEUE_READERS):
        waiting = enrolment_list(user=user, status={Status.SUBMITTED}).count()
        tiles.append(Tile(_("Waiting for verification"), waiting, "panel:queue"))
    corrections = worker_list(user=user).filter(needs_correction=True).count()
    tiles.append(Tile(_("Records needing correction"), corrections, "panel:people", "?perbaiki=1"))
    if access.may(user, access.QUEUE_READERS):
        failed = registry_batches_visible(user=user).filter(status=BatchStatus.FAILED).count()
        tiles.append(Tile(_("Failed registry batches"), failed, "panel:registry"))
    if access.may(user, (Role.SUPERVISOR,)):
        days = settings.PANEL_STALE_DEVICE_DAYS
        since = timezone.now() - dt.timedelta(days=days)
        stale = (
            device_list(user=user)
            .filter(revoked_at__isnull=True)
            .filter(Q(last_pull_at__lt=since) | Q(last_pull_at__isnull=True))
            .count()
        )
        label = ngettext("Devices not synced for %(days)d day", "Devices not synced for %(days)d days", days)
        tiles.append(Tile(label % {"days": days}, stale, "panel:devices"))
    if access.may(user, CLAIM_ROLES):
        overdue = claims_filtered(user=user, overdue=True).count()
        tiles.append(Tile(_("Claims with overdue documents"), overdue, "panel:claims", "?terlambat=on"))
    if access.may(user, RENEWAL_ROLES):
        nearly = allocations_nearly_exhausted(user=user).count()
        tiles.append(Tile(_("Decrees nearly exhausted"), nearly, "panel:budget"))
    return tiles
