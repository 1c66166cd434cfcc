"""Nightly reconciliation: the registry's status changes applied to our enrolments, in order, each
one once, with a stored cursor.

- `deceased` and `ended`: an `active` enrolment ends (status `ended`, the registry's reason kept).
- `inactive`: the cover is suspended (e.g. three unpaid months) but the participation stands:
  the enrolment stays `active` and its `registry_status` says `inactive`; an `active` change
  lifts it. Devices see both fields on their next pull.

Applied once: the cursor row is written in the transaction that applies its page, under a row
lock, and only if it still holds the `since` the page was fetched with (compare and set). So a
page is applied at most once per cursor position whatever runs at the same time, and a page
fetched again (a retry, a second reconciler, a feed that serves a page twice) changes nothing
the second time: every change is a conditional move (active → ended only from active, a registry
status only when it differs). Every change read is logged in RegistryChange with what it did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from enrolment.models import Enrolment, RegistryStatus, Status
from enrolment.registry.client import ChangesPage, InvalidChange, RegistryClient, StatusChange
from enrolment.registry.models import ChangeOutcome, RegistryChange, RegistryCursor
from enrolment.registry.services import registry_client
from enrolment.workflow import may_move
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction

CHANGES_CURSOR = "changes"
ENDING = frozenset({RegistryStatus.DECEASED, RegistryStatus.ENDED})


@dataclass
class ReconcileReport:
    pages: int = 0
    changes: int = 0
    applied: int = 0
    unchanged: int = 0
    unmatched: int = 0
    not_applicable: int = 0
    invalid: int = 0
    # Pages fetched but not applied because another run had moved the cursor meanwhile.
    skipped_pages: int = 0
    cursor: str = ""

    def summary(self) -> dict[str, Any]:
        return dict(self.__dict__)


def registry_reconcile(*, client: RegistryClient | None = None, max_pages: int | None = None) -> ReconcileReport:
    """Reads the changes feed from the stored cursor to its end (or `max_pages` pages) and applies
    it page by page. Raises RegistryError when the registry fails; pages already applied stay
    applied and the next run goes on from there."""
    client = client or registry_client()
    limit = settings.REGISTRY_CHANGES_PAGE_SIZE
    max_pages = max_pages or settings.REGISTRY_RECONCILE_MAX_PAGES
    RegistryCursor.objects.get_or_create(name=CHANGES_CURSOR)
    report = ReconcileReport()
    while report.pages < max_pages:
        since = RegistryCursor.objects.get(name=CHANGES_CURSOR).value
        page = client.changes(since=since, limit=limit)  # outside any transaction: it may be slow
        report.pages += 1
        if not _apply_page(page, since=since, report=report):
            report.skipped_pages += 1
            continue
        report.cursor = page.next_cursor
        if not page.has_more or (not page.changes and page.next_cursor == since):
            break
    return report


def _apply_page(page: ChangesPage, *, since: str, report: ReconcileReport) -> bool:
    """Applies one page and moves the cursor past it, in one transaction. False (nothing done)
    when the cursor is no longer at `since`: someone else applied this page meanwhile."""
    now = timezone.now()
    RegistryCursor.objects.get_or_create(name=CHANGES_CURSOR)
    with transaction.atomic():
        cursor = RegistryCursor.objects.select_for_update().get(name=CHANGES_CURSOR)
        if cursor.value != since:
            return False
        changes = [change for change in page.changes if isinstance(change, StatusChange)]
        by_id = {
            e.id: e for e in Enrolment.objects.filter(id__in={c.ref for c in changes if c.ref}).select_for_update()
        }
        # By number only where the ref did not settle it (registry_number has no index: rare path).
        numbers = {
            c.participant_number
            for c in changes
            if c.ref not in by_id or by_id[c.ref].registry_number not in ("", c.participant_number)
        }
        by_number = {
            e.registry_number: e
            for e in (Enrolment.objects.filter(registry_number__in=numbers).select_for_update() if numbers else [])
        }
        touched: dict[str, Enrolment] = {}
        logs: list[RegistryChange] = []
        events: list[AuditEntry] = []
        for change in page.changes:
            report.changes += 1
            if isinstance(change, InvalidChange):
                report.invalid += 1
                logs.append(
                    RegistryChange(
                        page_cursor=since, outcome=ChangeOutcome.INVALID, note=change.problem, reason=change.raw
                    )
                )
                continue
            enrolment = by_id.get(change.ref)
            note = ""
            if enrolment is not None and enrolment.registry_number not in ("", change.participant_number):
                note, enrolment = "the ref belongs to another participant number here", None
            enrolment = enrolment or by_number.get(change.participant_number)
            outcome: str
            if enrolment is None:
                outcome = ChangeOutcome.UNMATCHED
            else:
                outcome, note = _apply_change(enrolment, change, now, events)
                if outcome == ChangeOutcome.APPLIED:
                    touched[enrolment.id] = enrolment
            setattr(report, outcome, getattr(report, outcome) + 1)
            logs.append(
                RegistryChange(
                    page_cursor=since,
                    participant_number=change.participant_number,
                    ref=change.ref,
                    status=change.status,
                    effective_date=change.effective_date,
                    reason=change.reason,
                    outcome=outcome,
                    enrolment=enrolment,
                    note=note,
                )
            )
        _end_renewals(changes, touched, now, events)
        Enrolment.objects.bulk_update(
            list(touched.values()),
            ["status", "status_reason", "status_changed_at", "status_changed_by", "registry_status",
             "registry_status_date", "version", "updated_at", "updated_by"],
            batch_size=500,
        )  # fmt: skip
        RegistryChange.objects.bulk_create(logs, batch_size=1000)
        audit_events(Actor.system(), events)
        cursor.value = page.next_cursor
        cursor.save()
    return True


def _end_renewals(
    changes: list[StatusChange], touched: dict[str, Enrolment], now: dt.datetime, events: list[AuditEntry]
) -> None:
    """A participant reported deceased or ended also ends next year's enrolment made by a renewal
    (`renews` = the number), which the feed does not name: its ref is last year's."""
    ending = {c.participant_number: c for c in changes if c.status in ENDING}
    if not ending:
        return
    successors = (
        Enrolment.objects.filter(renews__in=set(ending), status__in=(Status.VERIFIED, Status.ACTIVE))
        .exclude(id__in=list(touched))
        .select_for_update()
    )
    for enrolment in successors:
        change = ending[enrolment.renews]
        before = enrolment.status
        label = f"registry: {change.status}, effective {change.effective_date.isoformat()}"
        enrolment.status_reason = f"{label}: {change.reason}" if change.reason else label
        enrolment.status, enrolment.status_changed_at, enrolment.status_changed_by = Status.ENDED, now, None
        enrolment.version += 1
        enrolment.updated_at, enrolment.updated_by = now, None
        touched[enrolment.id] = enrolment
        events.append(
            AuditEntry(AuditAction.STATUS, "enrolment", enrolment.id, enrolment.village_id,
                       {"status": [before, Status.ENDED]},
                       {"participant_number": change.participant_number, "renews": change.participant_number})
        )  # fmt: skip


def _apply_change(
    enrolment: Enrolment, change: StatusChange, now: dt.datetime, events: list[AuditEntry]
) -> tuple[str, str]:
    """Applies one change to `enrolment` in memory (saved by the caller). Returns (outcome, note)."""
    before = enrolment.registry_status
    context = {"participant_number": change.participant_number, "effective_date": change.effective_date.isoformat()}
    if change.reason:
        context["reason"] = change.reason
    if change.status in ENDING and may_move(None, enrolment.status, Status.ENDED):
        label = f"registry: {change.status}, effective {change.effective_date.isoformat()}"
        enrolment.status_reason = f"{label}: {change.reason}" if change.reason else label
        enrolment.status, enrolment.status_changed_at, enrolment.status_changed_by = Status.ENDED, now, None
        changes = {"status": [Status.ACTIVE, Status.ENDED], "registry_status": [before, change.status]}
        action = AuditAction.STATUS
    elif change.status in ENDING and enrolment.status != Status.ENDED:
        return ChangeOutcome.NOT_APPLICABLE, f"the enrolment is {enrolment.status}"
    elif change.status not in ENDING and enrolment.status != Status.ACTIVE:
        # An ended enrolment is not reopened by the registry; that is an operator's decision.
        return ChangeOutcome.NOT_APPLICABLE, f"the enrolment is {enrolment.status}"
    elif before == change.status:
        return ChangeOutcome.UNCHANGED, ""
    else:
        changes = {"registry_status": [before, change.status]}
        action = AuditAction.UPDATE
    enrolment.registry_status, enrolment.registry_status_date = change.status, change.effective_date
    enrolment.version += 1
    enrolment.updated_at, enrolment.updated_by = now, None
    events.append(AuditEntry(action, "enrolment", enrolment.id, enrolment.village_id, changes, context))
    return ChangeOutcome.APPLIED, ""
