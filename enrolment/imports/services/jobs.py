"""Import jobs: created from an upload (queued for processing after commit), and read back."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid, ServiceError
from config.locks import lock_keys
from enrolment.imports.models import ImportJob, ImportStatus
from enrolment.imports.readers import SNIFF_BYTES, detect_format
from villages.audit import Actor, audit_event
from villages.models import AuditAction, Role, User
from villages.scope import scope_of


class UnsupportedFile(ServiceError):
    code = "unsupported_file_type"
    status_code = 415
    default_message = _("Upload a CSV or XLSX file.")


IMPORT_ROLES = (Role.VILLAGE_OPERATOR,)

READ_ROLES = (Role.VILLAGE_OPERATOR, Role.SUPERVISOR)


def common_area(codes: Sequence[str]) -> str:
    """The deepest area containing every code ("" when they share no province)."""
    if not codes:
        return ""
    split = [code.split(".") for code in codes]
    prefix: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    return ".".join(prefix)


def import_create(*, actor: Actor, upload: UploadedFile, dry_run: bool, language: str) -> tuple[ImportJob, bool]:
    """Stores the upload as a queued job and queues its processing (after commit).

    Returns (job, created). The same file uploaded again by the same official while an identical
    job is still queued or running returns that job (created False): a resent request does not
    queue the work twice. Once it has finished, a new upload makes a new job, which finds every
    row unchanged. Raises UnsupportedFile (415) for anything but CSV or XLSX.
    """
    user = actor.user
    assert user is not None
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    file_format = detect_format(upload.name or "", head)
    if not head or file_format is None:
        raise UnsupportedFile(details={"filename": upload.name})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    sha = digest.hexdigest()
    scope = scope_of(user)

    with transaction.atomic():
        lock_keys("import", [f"{user.pk}:{sha}:{dry_run}"])
        pending = ImportJob.objects.filter(
            created_by=user, file_sha256=sha, dry_run=dry_run, status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING)
        ).first()
        if pending is not None:
            return pending, False
        job = ImportJob(
            id=uuid.uuid4(),
            created_by=user,
            scope_codes=[] if scope.everything else list(scope.codes),
            area_code="" if scope.everything else common_area(scope.codes),
            language=language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE,
            filename=(upload.name or "upload")[:255],
            file_format=file_format,
            file_size=upload.size or 0,
            file_sha256=sha,
            dry_run=dry_run,
        )
        job.file.save(f"{job.id}.{file_format}", upload, save=False)
        job.save()
        audit_event(
            actor,
            AuditAction.IMPORT,
            "import_job",
            str(job.id),
            area_code=job.area_code,
            context={"stage": "uploaded", "filename": job.filename, "dry_run": dry_run, "bytes": job.file_size},
        )
        from enrolment.imports.tasks import import_run

        job_id = str(job.id)
        transaction.on_commit(lambda: import_run.delay(job_id))
    return job, True


def import_jobs_visible(*, user: User) -> QuerySet[ImportJob]:
    """Jobs the caller may read: its own, and (operators, supervisors) those made inside its areas."""
    jobs = ImportJob.objects.select_related("created_by")
    scope = scope_of(user)
    if scope.everything:
        return jobs
    return jobs.filter(Q(created_by=user) | (scope.q("area_code") & ~Q(area_code="")))


def import_job_get(*, user: User, job_id: str) -> ImportJob:
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise Http404 from None
    job = import_jobs_visible(user=user).filter(pk=key).first()
    if job is None:
        raise Http404
    return job


def import_dry_run_flag(value: Any) -> bool:
    """`dry_run` as a form field or query parameter: true/1/yes/ya."""
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().casefold()
    if text in ("", "0", "false", "no", "tidak"):
        return False
    if text in ("1", "true", "yes", "ya"):
        return True
    raise FieldsInvalid(fields={"dry_run": [_("Use true or false.")]})
