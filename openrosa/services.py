"""Submissions from ODK Collect: one instance becomes one registration, through the same
service as POST /api/v1/registrations (enrolment.services.registration_save), in one
transaction with its bookkeeping.

- The instanceID is the idempotency key: the same XML again is answered as a success and
  changes nothing; other XML under a known instanceID is `submission_conflict` (409).
- An edit (ODK's /meta/deprecatedID naming the instance it replaces) updates the registration
  that instance became.
- Field data that fails the server's rules is kept flagged `needs_correction` (the record goes
  back to the field app and the panel); a refusal (a village outside the officer's areas, a
  locked enrolment...) stores nothing.
- A submission split over several POSTs (`*isIncomplete*`) keeps each part's files and
  registers the person when the last part arrives.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError
from config.locks import lock_keys
from enrolment.services import RegistrationOutcome, registration_save
from openrosa.instance import Instance, parse_instance, record_ids, registration_input
from openrosa.models import Attachment, Submission
from openrosa.xlsform import FORM_ID
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction
from workers.models import Worker
from workers.services import SaveMode


class SubmissionConflict(ServiceError):
    code = "submission_conflict"
    status_code = 409
    default_message = _("Another form was already sent under this instanceID.")


class AttachmentTooLarge(ServiceError):
    code = "attachment_too_large"
    status_code = 413
    default_message = _("An attachment is larger than the server accepts.")


class UnknownForm(ServiceError):
    code = "unknown_form"
    status_code = 400
    default_message = _("This server does not take this form. Download the current form again.")


@dataclass(frozen=True)
class IncomingFile:
    name: str
    content_type: str
    data: bytes


@dataclass
class Received:
    instance_id: str
    complete: bool
    created: bool = False
    submission: Submission | None = None

    @property
    def needs_correction(self) -> bool:
        return self.submission is not None and self.submission.needs_correction


def _xml_hash(xml: bytes) -> str:
    return hashlib.sha256(xml).hexdigest()


def check_files(files: Sequence[IncomingFile]) -> None:
    limit = settings.OPENROSA_MAX_ATTACHMENT_BYTES
    if len(files) > settings.OPENROSA_MAX_ATTACHMENTS:
        raise AttachmentTooLarge(details={"max_attachments": settings.OPENROSA_MAX_ATTACHMENTS})
    for item in files:
        if len(item.data) > limit:
            raise AttachmentTooLarge(details={"file": item.name[:255], "limit_bytes": limit})


@transaction.atomic
def submission_receive(*, actor: Actor, xml: bytes, files: Sequence[IncomingFile], incomplete: bool) -> Received:
    """One POST of ODK's submission protocol. Raises the registration's ServiceError (nothing
    stored), SubmissionConflict, SubmissionUnreadable, UnknownForm, AttachmentTooLarge."""
    assert actor.user is not None
    check_files(files)
    instance = parse_instance(xml)
    if instance.form_id != FORM_ID:
        raise UnknownForm(details={"form_id": instance.form_id[:100]})
    lock_keys("odk-instance", [instance.instance_id])
    digest = _xml_hash(xml)
    stored = Submission.objects.filter(instance_id=instance.instance_id).first()
    if stored is not None:
        if stored.xml_sha256 != digest or stored.submitted_by_id != actor.user.pk:
            raise SubmissionConflict(details={"instance_id": instance.instance_id})
        _keep_files(actor, instance.instance_id, files, worker_id=stored.worker_id)
        return Received(instance.instance_id, complete=not incomplete, submission=stored)
    _keep_files(actor, instance.instance_id, files, worker_id=None)
    if incomplete:
        return Received(instance.instance_id, complete=False)
    outcome = _register(actor, instance)
    worker, enrolment = outcome.worker.saved, outcome.enrolment.saved
    submission = Submission.objects.create(
        instance_id=instance.instance_id,
        deprecated_id=instance.deprecated_id,
        form_id=instance.form_id,
        form_version=instance.version,
        xml_sha256=digest,
        submitted_by=actor.user,
        worker=worker,
        enrolment=enrolment,
        needs_correction=worker.needs_correction or enrolment.needs_correction,
    )
    attached = Attachment.objects.filter(instance_id=instance.instance_id, worker__isnull=True).update(worker=worker)
    audit_events(
        actor,
        [
            AuditEntry(
                AuditAction.CREATE,
                "odk_submission",
                instance.instance_id,
                worker.village_id,
                None,
                {
                    "worker": worker.id,
                    "enrolment": enrolment.id,
                    "attachments": attached,
                    "edits": instance.deprecated_id,
                },
            )
        ],
    )
    return Received(instance.instance_id, complete=True, created=outcome.created, submission=submission)


def _register(actor: Actor, instance: Instance) -> RegistrationOutcome:
    worker_id, enrolment_id = record_ids(instance.deprecated_id or instance.instance_id)
    if instance.deprecated_id:
        edited = (
            Submission.objects.filter(instance_id=instance.deprecated_id)
            .values_list("worker_id", "enrolment_id")
            .first()
        )
        if edited is not None:
            worker_id, enrolment_id = edited
    worker_data, enrolment_data = registration_input(instance, worker_id=worker_id, enrolment_id=enrolment_id)
    return registration_save(
        actor=actor, worker_data=worker_data, enrolment_data=enrolment_data, mode=SaveMode.UPSERT, keep_invalid=True
    )


def _keep_files(actor: Actor, instance_id: str, files: Sequence[IncomingFile], *, worker_id: str | None) -> None:
    """Stores the files not stored yet; a file sent again is the same file, or a conflict."""
    if not files:
        return
    assert actor.user is not None
    held = {a.filename: a for a in Attachment.objects.filter(instance_id=instance_id).defer("data")}
    if any(a.submitted_by_id != actor.user.pk for a in held.values()):
        raise SubmissionConflict(details={"instance_id": instance_id})
    new = []
    for item in files:
        digest = hashlib.sha256(item.data).hexdigest()
        name = item.name[:255]
        if name in held:
            if held[name].sha256 != digest:
                raise SubmissionConflict(details={"instance_id": instance_id, "file": name})
            continue
        held[name] = Attachment(
            instance_id=instance_id,
            filename=name,
            content_type=(item.content_type or "application/octet-stream")[:100],
            size=len(item.data),
            sha256=digest,
            data=item.data,
            submitted_by=actor.user,
            worker_id=worker_id,
        )
        new.append(held[name])
    Attachment.objects.bulk_create(new)


@transaction.atomic
def attachments_delete_for_worker(*, actor: Actor, worker_id: str) -> int:
    """Erasure: every file ODK Collect sent with this person's registration goes. Audited."""
    village = Worker.objects.filter(id=worker_id).values_list("village_id", flat=True).first() or ""
    deleted, _by_model = Attachment.objects.filter(worker_id=worker_id).delete()
    if deleted:
        audit_events(
            actor, [AuditEntry(AuditAction.DELETE, "odk_attachment", worker_id, village, None, {"files": deleted})]
        )
    return deleted


def pending_attachments_prune(*, older_than_hours: int) -> int:
    """Files of split submissions whose last part never came (ODK Collect resends the whole
    form, so nothing is lost): personal data with no registration to belong to."""
    cutoff = timezone.now() - dt.timedelta(hours=older_than_hours)
    deleted, _by_model = Attachment.objects.filter(worker__isnull=True, received_at__lt=cutoff).delete()
    return deleted
