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
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import NotFound, ServiceError
from config.formats import iso_datetime
from config.locks import lock_keys
from enrolment.funding.models import Claim, ClaimStatus
from enrolment.imports.models import ImportRow
from enrolment.models import LIVE_STATUSES, Enrolment
from enrolment.privacy.erasure import erasure_steps
from enrolment.serializers import enrolment_representation
from enrolment.sync.models import SyncQuarantine
from villages.audit import Actor, audit_event
from villages.models import AuditAction, AuditEvent, User
from villages.scope import scope_of
from workers.models import Worker
from workers.serializers import worker_representation

# What an erased person's name becomes: the row stays (ids, village, birth date, sex and
# occupation keep the reports' counts right), the person is no longer in it.
ERASED_NAME = "-"
# A claim in these still needs the person's data (the heirs are paid against it): no erasure.
OPEN_CLAIM_STATUSES = (ClaimStatus.DOCUMENTS_PENDING, ClaimStatus.READY, ClaimStatus.FILED)
PERSON_ACTIONS = (AuditAction.VIEW, AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE, AuditAction.STATUS)


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
        "consent": {
            "given_at": iso_datetime(worker.consent_given_at),
            "method": worker.consent_method,
            "recorded_by": worker.consent_recorded_by,
            "purpose": worker.consent_purpose,
            "notice_version": worker.consent_notice_version,
        }
        if worker.consent_given_at
        else None,
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
    """Every person one user viewed or changed in a period, and their lists and exports (for a
    breach notice within 72 hours). Admins."""
    events = AuditEvent.objects.filter(actor_id=user_id, at__gte=since, at__lt=until).order_by("at", "id")
    people: dict[str, dict[str, Any]] = {}
    enrolment_people = dict(
        Enrolment.objects.filter(
            id__in=events.filter(object_type="enrolment").values_list("object_id", flat=True)
        ).values_list("id", "worker_id")
    )
    reads: list[dict[str, Any]] = []
    for event in events:
        worker_id = event.object_id if event.object_type == "worker" else enrolment_people.get(event.object_id)
        if worker_id and event.action in PERSON_ACTIONS:
            person = people.setdefault(
                worker_id, {"worker": worker_id, "village": event.area_code, "actions": [], "first_at": None}
            )
            if event.action not in person["actions"]:
                person["actions"].append(event.action)
            person["first_at"] = person["first_at"] or iso_datetime(event.at)
            person["last_at"] = iso_datetime(event.at)
        elif event.action in (AuditAction.LIST, AuditAction.EXPORT, AuditAction.SYNC_PULL, AuditAction.IMPORT):
            reads.append(_event(event))
    audit_event(
        actor, AuditAction.LIST, "audit", str(user_id), context={"since": since.isoformat(), "until": until.isoformat()}
    )
    return {
        "user": user_id,
        "since": iso_datetime(since),
        "until": iso_datetime(until),
        "people": list(people.values()),
        "bulk_reads": reads,
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
    SyncQuarantine.objects.filter(table="workers", record_id=worker.id).delete()
    ImportRow.objects.filter(worker_id=worker.id).update(nik_masked="", full_name="")
    removed = {step.name: step.erase(actor, worker.id) for step in steps}
    audit_event(
        actor,
        AuditAction.ERASE,
        "worker",
        worker.id,
        area_code=worker.village_id,
        context={"reason": reason, "request_reference": request_reference, "version": worker.version, **removed},
    )
    return worker


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
