"""Import jobs: created from an upload (queued for processing after commit), and read back."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from config.errors import Conflict, FieldsInvalid, ServiceError
from config.locks import lock_keys
from config.queues import nudge
from enrolment.imports.models import ImportJob, ImportStatus
from enrolment.imports.readers import SNIFF_BYTES, detect_format
from enrolment.imports.uploads import upload_discard, upload_store
from villages.audit import Actor, audit_event
from villages.models import AuditAction, Role, User
from villages.scope import scope_of


class UnsupportedFile(ServiceError):
    code = "unsupported_file_type"
    status_code = 415
    default_message = _("Upload a CSV or XLSX file.")


class ImportNotRetryable(Conflict):
    code = "import_not_retryable"
    default_message = _("Only a failed import can be retried; this one completed.")


class ImportFileGone(Conflict):
    code = "import_file_gone"
    default_message = _("The file of this import is no longer kept. Upload it again.")


logger = logging.getLogger(__name__)

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
    """Stores the upload (sealed at rest: uploads.py) as a queued job and queues its processing
    (after commit).

    Returns (job, created). The same file uploaded again by the same official while an identical
    job is still queued or running returns that job (created False): a resent request does not
    queue the work twice (a job that shows no progress for IMPORT_STALL_SECONDS is nudged again).
    The file of a job that failed starts that job again (created True): it resumes after its
    committed chunks. Once a job has completed, a new upload makes a new job, which finds every
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
            if _stalled(pending, timezone.now()):
                import_nudge(str(pending.id))
            return pending, False
        failed = (
            ImportJob.objects.select_for_update()
            .filter(created_by=user, file_sha256=sha, dry_run=dry_run, status=ImportStatus.FAILED)
            .order_by("-created_at")
            .first()
        )
        if failed is not None:
            if failed.file:
                failed.file.delete(save=False)
            upload_store(failed, upload, file_format)
            failed.save(update_fields=["file"])
            _restart(actor, failed, stage="uploaded_again")
            return failed, True
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
        upload_store(job, upload, file_format)
        job.save()
        audit_event(
            actor,
            AuditAction.IMPORT,
            "import_job",
            str(job.id),
            area_code=job.area_code,
            context={"stage": "uploaded", "filename": job.filename, "dry_run": dry_run, "bytes": job.file_size},
        )
        import_nudge(str(job.id))
    return job, True


def import_nudge(job_id: str) -> None:
    """Asks a Celery worker to run the job, once the current transaction has committed.

    Only a nudge: the job row is the outbox. A nudge lost (the broker down or restarted) is made
    good by the sweeper (`import_jobs_sweep`), which finds the job queued without progress."""

    def send() -> None:
        from enrolment.imports.tasks import import_run

        nudge(import_run, job_id, fallback="the sweeper will start it")

    transaction.on_commit(send)


def _stalled(job: ImportJob, now: dt.datetime) -> bool:
    last = job.heartbeat_at or job.created_at
    return last is not None and last < now - dt.timedelta(seconds=settings.IMPORT_STALL_SECONDS)


def _restart(actor: Actor | None, job: ImportJob, *, stage: str) -> None:
    """A failed job queued again, resuming after its committed chunks (inside a transaction)."""
    job.status, job.error, job.finished_at = ImportStatus.QUEUED, "", None
    job.attempts, job.heartbeat_at = 0, timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "attempts", "heartbeat_at"])
    if actor is not None:
        audit_event(
            actor,
            AuditAction.IMPORT,
            "import_job",
            str(job.id),
            area_code=job.area_code,
            context={"stage": stage, "processed_rows": job.processed_rows},
        )
    import_nudge(str(job.id))


def import_job_retry(*, actor: Actor, job_id: str) -> tuple[ImportJob, bool]:
    """An operator's retry of a failed job: queued again with its stored file, resuming after its
    committed chunks. Returns (job, retried); a queued or running job is returned as it is
    (retried False: it is on its way). Raises NotFound, ImportNotRetryable (completed),
    ImportFileGone (the file was unreadable or has been deleted: upload it again)."""
    assert actor.user is not None
    visible = import_job_get(user=actor.user, job_id=job_id)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=visible.pk)
        if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            if _stalled(job, timezone.now()):
                import_nudge(str(job.id))
            return job, False
        if job.status == ImportStatus.COMPLETED:
            raise ImportNotRetryable()
        if not job.file:
            raise ImportFileGone()
        _restart(actor, job, stage="retried")
    return job, True


def import_jobs_sweep() -> dict[str, int]:
    """The import jobs' sweeper (beat, every IMPORT_SWEEP_SECONDS).

    A job queued or running with no heartbeat for IMPORT_STALL_SECONDS lost its nudge or its
    worker (killed, out of memory, the machine restarted): it is nudged again and resumes after
    its last committed chunk. A job that was started IMPORT_MAX_ATTEMPTS times without finishing
    (a file that kills every worker that reads it) ends `failed` with the reason, its file kept
    for an operator's retry. Failed jobs' files are deleted after IMPORT_FAILED_FILE_DAYS.
    Returns how many jobs were restarted, failed and how many files deleted."""
    now = timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.IMPORT_STALL_SECONDS)
    restarted = failed = 0
    with transaction.atomic():
        stuck = (
            ImportJob.objects.filter(status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING))
            .filter(Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, created_at__lt=stale_before))
            .select_for_update(skip_locked=True)
        )
        for job in stuck:
            if job.attempts >= settings.IMPORT_MAX_ATTEMPTS:
                with translation.override(job.language):
                    job.error = str(
                        _(
                            "The import stopped %(count)d times without finishing (the server processing it "
                            "was lost). Retry it, or upload the file again."
                        )
                        % {"count": job.attempts}
                    )
                job.status, job.finished_at = ImportStatus.FAILED, now
                job.save(update_fields=["status", "error", "finished_at"])
                logger.warning("import %s failed: stopped %d times without finishing", job.id, job.attempts)
                failed += 1
            else:
                job.heartbeat_at = now  # not swept again before it had a chance to run
                job.save(update_fields=["heartbeat_at"])
                import_nudge(str(job.id))
                logger.info("import %s restarted by the sweeper (no progress since %s)", job.id, stale_before)
                restarted += 1
    deleted = 0
    expired = now - dt.timedelta(days=settings.IMPORT_FAILED_FILE_DAYS)
    for job in ImportJob.objects.filter(status=ImportStatus.FAILED, finished_at__lt=expired).exclude(file=""):
        # personal data at rest only as long as needed; a job retried meanwhile keeps its file
        deleted += upload_discard(job, status=ImportStatus.FAILED, finished_at__lt=expired)
    return {"restarted": restarted, "failed": failed, "files_deleted": deleted}


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
