"""Data-subject rights: what is held on a person, who touched them, erasure, restriction.

Here rather than in workers/ because a person's data includes their enrolments. Every read is
audited like any other read of personal data; erasure and restriction are audited with ids and
the reason only, never the values (the audit log is append-only and outlives an erasure).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import NotFound, ServiceError
from config.formats import iso_datetime
from config.locks import lock_keys
from enrolment.funding.models import Claim, ClaimStatus
from enrolment.funding.serializers import claim_representation
from enrolment.imports.models import ImportRow
from enrolment.models import LIVE_STATUSES, Enrolment
from enrolment.privacy.erasure import erasure_steps
from enrolment.serializers import enrolment_representation
from enrolment.sync.models import SyncQuarantine
from villages.audit import Actor, AuditEntry, audit_event, audit_events
from villages.models import AuditAction, AuditEvent, User
from villages.scope import scope_of
from workers.duplicates.services import duplicates_forget_person
from workers.models import Worker
from workers.serializers import worker_representation

# What an erased person's name becomes: the row stays (ids, village, birth date, sex and
# occupation keep the reports' counts right), the person is no longer in it.
ERASED_NAME = "-"
# A claim in these still needs the person's data (the heirs are paid against it): no erasure.
OPEN_CLAIM_STATUSES = (ClaimStatus.DOCUMENTS_PENDING, ClaimStatus.READY, ClaimStatus.FILED)
# A claim in these is settled: the row stays (reports count claims and amounts), its heirs go.
CLOSED_CLAIM_STATUSES = (ClaimStatus.PAID, ClaimStatus.REFUSED)
PERSON_ACTIONS = (AuditAction.VIEW, AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE, AuditAction.STATUS)
# Reads of many people: one event with the count and filters, plus one `worker` row per person
# seen (villages.audit.audit_people, context {"of": <the event's id>}).
SEEN_ACTIONS = (AuditAction.LIST, AuditAction.EXPORT, AuditAction.SYNC_PULL)


class ErasureRestricted(ServiceError):
    code = "erasure_restricted"
    status_code = 409
    default_message = _(
        "This person's data is still needed (a live enrolment or an open claim); restrict processing instead."
    )


def _worker_in_scope(user: User, worker_id: str) -> Worker:
    worker = scope_of(user).filter(Worker.objects.filter(id=worker_id), "village__code").first()
    if worker is None:
        raise NotFound()
    return worker


def _event(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": iso_datetime(event.at),
        "user": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "context": event.context,
    }


def _events_about(worker: Worker) -> list[AuditEvent]:
    enrolment_ids = list(Enrolment.objects.filter(worker_id=worker.id).values_list("id", flat=True))
    return list(
        AuditEvent.objects.filter(
            Q(object_type="worker", object_id=worker.id) | Q(object_type="enrolment", object_id__in=enrolment_ids)
        ).order_by("at", "id")
    )


def access_log(*, actor: Actor, worker_id: str) -> list[dict[str, Any]]:
    """Who viewed, exported or changed this person, oldest first (supervisors, admins)."""
    assert actor.user is not None
    worker = _worker_in_scope(actor.user, worker_id)
    events = [_event(e) for e in _events_about(worker)]
    audit_event(actor, AuditAction.VIEW, "worker", worker.id, area_code=worker.village_id, context={"access_log": True})
    return events


def personal_data(*, actor: Actor, worker_id: str) -> dict[str, Any]:
    """Everything held on one person: the record (full NIK), enrolments, consent, and who
    viewed, exported or changed it. Audited."""
    assert actor.user is not None
    worker = _worker_in_scope(actor.user, worker_id)
    body = {
        "worker": worker_representation(worker, full_nik=True),
        "enrolments": [
            enrolment_representation(e) for e in Enrolment.objects.filter(worker_id=worker.id).order_by("id")
        ],
        # The person's claims, their heirs in full (this is everything held, for the person).
        "claims": [
            {**claim_representation(c), "heirs": c.heirs}
            for c in Claim.objects.filter(worker_id=worker.id).select_related("death").order_by("created_at", "id")
        ],
        "consent": worker.consent(),
        "erased_at": iso_datetime(worker.erased_at),
        "restricted_at": iso_datetime(worker.restricted_at),
        "access_log": [_event(e) for e in _events_about(worker)],
    }
    audit_event(
        actor,
        AuditAction.VIEW,
        "worker",
        worker.id,
        area_code=worker.village_id,
        context={"personal_data": True, "full_nik": True},
    )
    return body


def people_touched(*, actor: Actor, user_id: int, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    """Every person one user viewed, changed, or saw in a list, an export or a sync pull in a
    period, and those reads themselves (for a breach notice within 72 hours). Admins.

    Grouped in the database (a pull of a village is thousands of per-person rows): one row per
    person and action, merged here; actions in the order the user first did them."""
    events = AuditEvent.objects.filter(actor_id=user_id, at__gte=since, at__lt=until)
    grouped = (
        events.exclude(object_id="")
        .filter(
            Q(object_type="worker", action__in=(*PERSON_ACTIONS, *SEEN_ACTIONS))
            | Q(object_type="enrolment", action__in=PERSON_ACTIONS)
        )
        .values("object_type", "object_id", "action")
        .annotate(first=Min("at"), last=Max("at"), area=Max("area_code"))
    )
    rows = list(grouped)
    enrolment_people = dict(
        Enrolment.objects.filter(id__in=[r["object_id"] for r in rows if r["object_type"] == "enrolment"]).values_list(
            "id", "worker_id"
        )
    )
    people: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["first"], r["action"])):
        worker_id = row["object_id"] if row["object_type"] == "worker" else enrolment_people.get(row["object_id"])
        if not worker_id:
            continue
        person = people.setdefault(
            worker_id, {"worker": worker_id, "village": row["area"], "actions": [], "first": row["first"], "last": None}
        )
        if row["action"] not in person["actions"]:
            person["actions"].append(row["action"])
        person["first"] = min(person["first"], row["first"])
        person["last"] = max(person["last"] or row["last"], row["last"])
    # The reads themselves (their counts and filters); the per-person rows are already above.
    reads = (
        events.filter(action__in=(*SEEN_ACTIONS, AuditAction.IMPORT))
        .exclude(Q(object_type="worker") & ~Q(object_id=""))
        .order_by("at", "id")
    )
    audit_event(
        actor, AuditAction.LIST, "audit", str(user_id), context={"since": since.isoformat(), "until": until.isoformat()}
    )
    return {
        "user": user_id,
        "since": iso_datetime(since),
        "until": iso_datetime(until),
        "people": [
            {
                "worker": p["worker"],
                "village": p["village"],
                "actions": p["actions"],
                "first_at": iso_datetime(p["first"]),
                "last_at": iso_datetime(p["last"]),
            }
            for p in people.values()
        ],
        "bulk_reads": [_event(e) for e in reads],
    }


@transaction.atomic
def erase(*, actor: Actor, worker_id: str, reason: str, request_reference: str) -> Worker:
    """Anonymises a person: every personal value goes (NIK, KK, phone, name, birth place,
    address, mother's maiden name, heirs, income, KUSUKA), as do the raw records of them waiting
    in sync quarantine, their names in import results, and what the apps above enrolment hold
    on them (PRIVACY_ERASURE_STEPS: ODK Collect's attachments). What the reports count stays
    (village, birth date, sex, occupation, the enrolments and their statuses). Refused with
    `erasure_restricted` while an enrolment is live or a claim open (the details list them).
    Idempotent."""
    assert actor.user is not None
    lock_keys("worker", [worker_id])
    worker = _worker_in_scope(actor.user, worker_id)
    # Resolved before anything changes: a misconfigured step refuses the erasure (500) rather
    # than leaving the person's files behind.
    steps = erasure_steps()
    if worker.erased_at is not None:
        return worker
    live = list(
        Enrolment.objects.filter(worker_id=worker.id, status__in=LIVE_STATUSES, deleted_at__isnull=True).values_list(
            "id", "status"
        )
    )
    claims = list(
        Claim.objects.filter(worker_id=worker.id, status__in=OPEN_CLAIM_STATUSES)
        .order_by("created_at", "id")
        .values_list("id", "program", "status")
    )
    if live or claims:
        details: dict[str, Any] = {}
        if live:
            details["enrolments"] = [{"id": i, "status": s} for i, s in live]
        if claims:
            details["claims"] = [{"id": i, "program": p, "status": s} for i, p, s in claims]
        raise ErasureRestricted(details=details)
    now = timezone.now()
    # One UPDATE: the row goes from complete to anonymised at once, and a complete record's NIK
    # index must still look like one (the database checks it): a random value, matching no NIK
    # and linking to no one.
    Worker.objects.filter(pk=worker.pk).update(
        nik="",
        nik_bi=secrets.token_hex(16) if not worker.needs_correction and worker.nik_bi else "",
        kk_number="",
        kk_bi="",
        phone="",
        phone_bi="",
        mother_maiden_name="",
        heirs=[],
        full_name=ERASED_NAME,
        birth_place="",
        address_street="",
        address_dusun="",
        address_rt="",
        address_rw="",
        kusuka_number="",
        monthly_income=None,
        erased_at=now,
        version=worker.version + 1,
        updated_by=actor.user,
        updated_at=now,
    )
    worker.refresh_from_db()
    # The duplicate finder's row holds the normalised name and digests of the NIK, KK and phone.
    pairs_removed = duplicates_forget_person(worker.id)
    SyncQuarantine.objects.filter(table="workers", record_id=worker.id).delete()
    ImportRow.objects.filter(worker_id=worker.id).update(nik_masked="", full_name="")
    claims_cleared = _erase_claim_heirs(actor, worker)
    removed = {step.name: step.erase(actor, worker.id) for step in steps}
    audit_event(
        actor,
        AuditAction.ERASE,
        "worker",
        worker.id,
        area_code=worker.village_id,
        context={
            "reason": reason,
            "request_reference": request_reference,
            "version": worker.version,
            "claim_heirs": claims_cleared,
            "duplicate_pairs": pairs_removed,
            **removed,
        },
    )
    return worker


def _erase_claim_heirs(actor: Actor, worker: Worker) -> int:
    """The heirs (names, NIKs, phones) of the person's settled claims go; the claims stay, with
    their program, status and amount, so the claim reports do not move. Open claims never get
    here (erase refuses them). Answers how many claims lost their heirs (0 on a second run)."""
    claims = [
        claim
        for claim in Claim.objects.select_for_update()
        .filter(worker_id=worker.id, status__in=CLOSED_CLAIM_STATUSES)
        .order_by("id")
        if claim.heirs
    ]
    for claim in claims:
        Claim.objects.filter(pk=claim.pk).update(heirs=[], version=claim.version + 1, updated_at=timezone.now())
    audit_events(
        actor,
        [
            AuditEntry(AuditAction.UPDATE, "claim", c.id, c.village_id, {"heirs": ["…", ""]}, {"erasure": True})
            for c in claims
        ],
    )
    return len(claims)


@transaction.atomic
def restrict(*, actor: Actor, worker_id: str, reason: str) -> Worker:
    """Restricts the processing of a person's data: their record can no longer be changed
    (`processing_restricted`) until an admin lifts it. Idempotent."""
    assert actor.user is not None
    lock_keys("worker", [worker_id])
    worker = _worker_in_scope(actor.user, worker_id)
    if worker.restricted_at is None:
        worker.restricted_at = timezone.now()
        worker.version += 1
        worker.updated_by = actor.user
        worker.save(update_fields=["restricted_at", "version", "updated_by", "updated_at"])
        audit_event(
            actor, AuditAction.RESTRICT, "worker", worker.id, area_code=worker.village_id, context={"reason": reason}
        )
    return worker
