"""Deaths and the claims that follow (DOMAIN.md, "Deaths and JKM").

A death reported from the app or the panel, in one transaction: the report (one per person),
the person's live enrolments ended (`deceased`), the registry's death event written to the
outbox (once per person, enrolment.funding.outbox), and a claim: JKM, or JKK for a work
accident, with the heirs and the document checklist when the person was covered that day;
otherwise a claim with `covered: false`, status `refused` and the reason, so the family hears a
clear answer.

Covered on the day of death means: an enrolment that reached the registry (a participant
number) was in force that day (from its coverage start to the end of its decree's period, or
twelve months without a decree), not suspended by the registry (`inactive` from before that
day), and, when payments are tracked, paid: not more than 3 months past `paid_through`. An
enrolment still queued for the registry when the death is reported is left to the registry
sync (its answer cannot be taken back); the claim then says `not_registered`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid, NotFound, PermissionDenied, PreconditionFailed, ServiceError
from config.locks import lock_keys
from enrolment.funding.models import Claim, ClaimProgram, ClaimStatus, DeathCause, DeathReport
from enrolment.funding.outbox import death_event_put
from enrolment.models import LIVE_STATUSES, Enrolment, RegistryStatus, Status
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction, Role, User
from villages.scope import scope_of
from workers.models import Worker

DEATH_ROLES = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.SUPERVISOR)
# Who reads and updates claims: the roles that report deaths, each within their own areas.
CLAIM_ROLES = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.SUPERVISOR)
# DOMAIN.md's documents for a JKM (or JKK death) claim, in the order a family gathers them.
CHECKLIST = ("kpj_card", "ktp_deceased", "ktp_heir", "death_certificate", "family_card", "heir_statement",
             "marriage_book", "bank_book")  # fmt: skip
DECEASED = "deceased"


class DeathAlreadyReported(ServiceError):
    code = "death_already_reported"
    status_code = 409
    default_message = _("This person's death was already reported with another date or cause.")


class ClaimTransitionInvalid(ServiceError):
    code = "claim_transition_invalid"
    status_code = 409
    default_message = _("The claim's status does not allow this change.")


# --- coverage on a day -------------------------------------------------------------------------


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _cover_end(enrolment: Enrolment) -> dt.date | None:
    if enrolment.coverage_start is None:
        return None
    if enrolment.allocation is not None:
        last = enrolment.allocation.period_end
    else:
        index = _month_index(enrolment.coverage_start) + 11
        last = dt.date(index // 12, index % 12 + 1, 1)
    following = _month_index(last) + 1
    return dt.date(following // 12, following % 12 + 1, 1) - dt.timedelta(days=1)


def coverage_on(enrolment: Enrolment, day: dt.date) -> str:
    """'' when `enrolment` covered `day`, else the reason it did not (a stable code)."""
    if not enrolment.registry_number:
        return "not_registered"
    start, end = enrolment.coverage_start, _cover_end(enrolment)
    if start is None or day < start:
        return "not_yet_covered"
    if end is not None and day > end:
        return "coverage_ended"
    if (
        enrolment.registry_status == RegistryStatus.INACTIVE
        and enrolment.registry_status_date is not None
        and enrolment.registry_status_date <= day
    ):
        return "inactive"
    if enrolment.paid_through is not None and _month_index(day) - _month_index(enrolment.paid_through) > 3:
        return "unpaid"
    return ""


def _covering(enrolments: Sequence[Enrolment], day: dt.date) -> tuple[Enrolment | None, str]:
    """The enrolment that covered `day`, or (the most recent registered one, the reason)."""
    registered = [e for e in enrolments if e.registry_number]
    for enrolment in registered:
        if not coverage_on(enrolment, day):
            return enrolment, ""
    if not registered:
        return None, "not_registered"
    latest = max(registered, key=lambda e: (e.coverage_start or dt.date.min, e.created_at))
    return latest, coverage_on(latest, day)


# --- reporting a death -----------------------------------------------------------------------------


def _clean(data: Mapping[str, Any], worker: Worker) -> dict[str, Any]:
    errors: dict[str, list[Any]] = {}
    day = data["date_of_death"]
    if day > timezone.localdate():
        errors["date_of_death"] = [_("The date of death cannot be in the future.")]
    elif worker.birth_date is not None and day < worker.birth_date:
        errors["date_of_death"] = [_("The date of death is before the birth date.")]
    if errors:
        raise FieldsInvalid(fields=errors)
    return dict(data)


@transaction.atomic
def death_report(*, actor: Actor, worker_id: str, data: Mapping[str, Any]) -> tuple[Claim, bool]:
    """POST /workers/{id}/death: (the claim, whether this call reported the death). The same
    report again answers the stored claim; another date or cause is 409 `death_already_reported`.
    Raises 404 outside the caller's areas, 403 for roles that may not report."""
    user = actor.user
    assert user is not None
    if not (user.is_admin or user.role in DEATH_ROLES):
        raise PermissionDenied()
    lock_keys("worker", [worker_id])
    worker = (
        scope_of(user).filter(Worker.objects.filter(id=worker_id, deleted_at__isnull=True), "village__code").first()
    )
    if worker is None:
        raise NotFound()
    stored = DeathReport.objects.filter(worker=worker).select_related("claim").first()
    if stored is not None:
        if (stored.date_of_death, stored.cause) != (data["date_of_death"], data["cause"]):
            raise DeathAlreadyReported(
                details={"date_of_death": stored.date_of_death.isoformat(), "cause": stored.cause}
            )
        return stored.claim, False
    values = _clean(data, worker)
    now = timezone.now()
    day = values["date_of_death"]
    report = DeathReport.objects.create(
        worker=worker,
        date_of_death=day,
        cause=values["cause"],
        place=values["place"],
        reported_by_name=values.get("reported_by_name") or "",
        notes=values.get("notes") or "",
        reported_by=user,
    )
    lock_keys("enrolment", list(worker.enrolments.values_list("id", flat=True)))
    enrolments = list(
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("allocation")
        .filter(worker=worker, deleted_at__isnull=True, needs_correction=False)
        .filter(Q(status__in=LIVE_STATUSES) | Q(status=Status.ENDED, status_changed_at__date__gt=day))
        .order_by("coverage_start", "created_at")
    )
    events: list[AuditEntry] = [
        AuditEntry(AuditAction.CREATE, "death", str(report.id), worker.village_id, None,
                   {"worker": worker.id, "date_of_death": day.isoformat(), "cause": report.cause}),
    ]  # fmt: skip
    # A queued enrolment is in a batch the registry may be processing: its answer decides it.
    considered = [e for e in enrolments if e.status != Status.QUEUED]
    covering, reason = _covering(considered, day)
    for enrolment in considered:
        if enrolment.status not in LIVE_STATUSES:
            continue
        before = enrolment.status
        enrolment.status, enrolment.status_reason = Status.ENDED, DECEASED
        enrolment.status_changed_at, enrolment.status_changed_by = now, user
        enrolment.version += 1
        enrolment.updated_at, enrolment.updated_by = now, user
        enrolment.save(
            update_fields=["status", "status_reason", "status_changed_at", "status_changed_by", "version",
                           "updated_at", "updated_by"]
        )  # fmt: skip
        events.append(
            AuditEntry(AuditAction.STATUS, "enrolment", enrolment.id, enrolment.village_id,
                       {"status": [before, Status.ENDED]}, {"reason": DECEASED})
        )  # fmt: skip
    registered = [e for e in considered if e.registry_number]
    if registered:
        number = covering or max(registered, key=lambda e: (e.coverage_start or dt.date.min, e.created_at))
        death_event_put(worker_id=worker.id, participant_number=number.registry_number, date=day, cause=report.cause)
    program = ClaimProgram.JKK if report.cause == DeathCause.WORK_ACCIDENT else ClaimProgram.JKM
    covered = not reason
    claim = Claim.objects.create(
        death=report,
        worker=worker,
        village_id=worker.village_id,
        enrolment=covering,
        program=program,
        covered=covered,
        reason=reason,
        status=ClaimStatus.DOCUMENTS_PENDING if covered else ClaimStatus.REFUSED,
        checklist=[{"document": d, "received": False} for d in CHECKLIST] if covered else [],
        heirs=list(worker.heirs or []),
        amount_idr=settings.CLAIM_JKM_IDR if covered and program == ClaimProgram.JKM else 0,
        status_changed_at=now,
    )
    events.append(
        AuditEntry(AuditAction.CREATE, "claim", claim.id, claim.village_id, None,
                   {"program": program, "covered": covered, "reason": reason, "worker": worker.id})
    )  # fmt: skip
    audit_events(actor, events)
    return claim, True


# --- claims ----------------------------------------------------------------------------------------

# The moves a claim's status may make (besides `refused`, open to every status before `paid`);
# any official of CLAIM_ROLES who sees the claim may make them.
CLAIM_MOVES = {
    (ClaimStatus.DOCUMENTS_PENDING, ClaimStatus.READY),
    (ClaimStatus.READY, ClaimStatus.DOCUMENTS_PENDING),
    (ClaimStatus.READY, ClaimStatus.FILED),
    (ClaimStatus.FILED, ClaimStatus.PAID),
}


def claims_visible(*, user: User) -> QuerySet[Claim]:
    return scope_of(user).filter(Claim.objects.select_related("death"), "village__code")


def claim_list(
    *, user: User, status: str | None = None, area: str | None = None, waiting_days: int | None = None
) -> QuerySet[Claim]:
    """Claims in the caller's areas; `waiting_days`: still waiting for documents that long."""
    claims = claims_visible(user=user)
    if status:
        claims = claims.filter(status=status)
    if area:
        claims = claims.filter(Q(village__code=area) | Q(village__code__startswith=area + "."))
    if waiting_days is not None:
        claims = claims.filter(
            status=ClaimStatus.DOCUMENTS_PENDING,
            status_changed_at__lte=timezone.now() - dt.timedelta(days=waiting_days),
        )
    return claims


def claim_get(*, user: User, claim_id: str) -> Claim:
    claim = claims_visible(user=user).filter(id=claim_id).first()
    if claim is None:
        raise NotFound()
    return claim


@transaction.atomic
def claim_update(*, actor: Actor, claim_id: str, data: Mapping[str, Any], if_match: int | None) -> Claim:
    """PATCH /claims/{id}: documents received, heirs, notes, and the status along
    documents_pending → ready (every document received) → filed → paid, or refused. Raises 404,
    412 stale If-Match, 409 `claim_transition_invalid`, 400 unknown documents."""
    assert actor.user is not None
    claim = claims_visible(user=actor.user).select_for_update(of=("self",)).filter(id=claim_id).first()
    if claim is None:
        raise NotFound()
    if if_match is not None and if_match != claim.version:
        raise PreconditionFailed(details={"current_version": claim.version})
    changes: dict[str, list[Any]] = {}
    if "checklist" in data:
        if not claim.covered:
            raise ClaimTransitionInvalid(details={"covered": False})
        received = {item["document"]: item["received"] for item in data["checklist"]}
        unknown = sorted(set(received) - {item["document"] for item in claim.checklist})
        if unknown:
            raise FieldsInvalid(fields={"checklist": [_("Unknown documents: %(d)s.") % {"d": ", ".join(unknown)}]})
        checklist = [{**item, "received": received.get(item["document"], item["received"])} for item in claim.checklist]
        if checklist != claim.checklist:
            changes["checklist"] = [claim.checklist, checklist]
            claim.checklist = checklist
    for name in ("heirs", "notes"):
        if name in data and data[name] != getattr(claim, name):
            changes[name] = [getattr(claim, name), data[name]] if name == "notes" else ["…", "…"]
            setattr(claim, name, data[name])
    target = data.get("status")
    if target and target != claim.status:
        if not _may_move(claim, target):
            raise ClaimTransitionInvalid(details={"status": claim.status, "to": target})
        changes["status"] = [claim.status, target]
        claim.status, claim.status_changed_at = target, timezone.now()
    if claim.status == ClaimStatus.READY and not all(item["received"] for item in claim.checklist):
        raise ClaimTransitionInvalid(
            _("Every document must be received before the claim is ready."),
            details={"missing": [i["document"] for i in claim.checklist if not i["received"]]},
        )
    if not changes:
        return claim
    claim.version += 1
    claim.save()
    audit_events(actor, [AuditEntry(AuditAction.UPDATE, "claim", claim.id, claim.village_id, changes)])
    return claim


def _may_move(claim: Claim, target: str) -> bool:
    if not claim.covered:
        return False
    if target == ClaimStatus.REFUSED:
        return claim.status != ClaimStatus.PAID
    return (claim.status, target) in CLAIM_MOVES


def claim_next_statuses(claim: Claim) -> list[str]:
    """The statuses `claim_update` would accept next, in ClaimStatus order (what a form offers):
    the moves above, less `ready` while a document is still missing."""
    complete = all(item["received"] for item in claim.checklist)
    return [
        status
        for status in ClaimStatus.values
        if status != claim.status and _may_move(claim, status) and (complete or status != ClaimStatus.READY)
    ]
