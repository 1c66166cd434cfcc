"""Processing an import job, in chunks, in the background.

A job is processed in chunks of IMPORT_CHUNK_ROWS rows. Each chunk is one transaction holding
its workers' and enrolments' writes (through `workers_save` / `enrolments_save`, so the same
validation, locks, constraints and audit as the API), its row results and the job's progress.
A worker that dies mid-file therefore leaves whole chunks behind it, and a second run of the task
resumes after the last committed one; the job row is locked per chunk and its progress checked,
so two deliveries of the same task never process a chunk twice. A dry run does the same work
and rolls each chunk's writes back to a savepoint, keeping only the row results.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ErrorDetail

from config.dberrors import busy_reason, safe_summary
from config.errors import ServiceError, envelope, register_error_code
from config.pii import blind_index
from config.queues import nudge
from enrolment.imports import layout
from enrolment.imports.invalid_rows import invalid_rows_keep
from enrolment.imports.models import ImportJob, ImportRow, ImportStatus, RowResult
from enrolment.imports.readers import UnreadableFile, open_sheet
from enrolment.imports.services.jobs import IMPORT_ROLES
from enrolment.imports.services.reading import chunks_read_ahead, duplicate_of
from enrolment.imports.uploads import upload_discard, upload_open
from enrolment.models import LIVE_STATUSES, Enrolment
from enrolment.reports.tasks import coverage_compact_task
from enrolment.services import EnrolmentOutcome, enrolment_as_input, enrolments_save
from enrolment.validation import EnrolmentRefs, clean_enrolment
from villages.audit import Actor, audit_event, mask_nik
from villages.models import AuditAction, User
from villages.scope import Scope, scope_of
from workers.models import Worker
from workers.services import Result, SaveMode, SaveOutcome, worker_as_input, worker_refs, workers_save
from workers.validation import clean_worker

logger = logging.getLogger(__name__)

DUPLICATE_ROW = register_error_code("duplicate_row", 400, _("This row repeats a person from an earlier row."))


class ImportConcurrentRun(Exception):
    """Another run of the same job committed this chunk first; this run stops."""


def import_job_run(*, job_id: uuid.UUID | str) -> ImportJob | None:
    """Processes (or resumes) a job. Idempotent: a finished job is left as it is.

    Row problems never fail the job (they are its result); a file that cannot be read or lacks
    required columns fails it with `error` set. The stored upload (sealed: uploads.py) is
    deleted once the job ends, except after an unexpected error (kept, sealed, for a retry).
    """
    claimed = ImportJob.objects.filter(pk=job_id, status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING)).update(
        status=ImportStatus.RUNNING, attempts=F("attempts") + 1, heartbeat_at=timezone.now()
    )
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if not claimed or job is None:
        return job
    if job.started_at is None:
        job.started_at = timezone.now()
        ImportJob.objects.filter(pk=job.pk, started_at__isnull=True).update(started_at=job.started_at)
    user = job.created_by
    with translation.override(job.language):
        try:
            if user is None or not user.is_active or not (user.is_admin or user.role in IMPORT_ROLES):
                raise UnreadableFile(_("The official who uploaded the file may no longer import."))
            _process(job, user)
        except UnreadableFile as problem:
            # The file itself is the problem: running it again cannot help, so it is not kept.
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportStatus.FAILED, error=str(problem.message), finished_at=timezone.now()
            )
        except ImportConcurrentRun:
            return ImportJob.objects.get(pk=job.pk)
        except Exception as problem:
            if busy_reason(problem) is not None:
                raise  # the database is busy: the task tries again later (and the sweeper after it)
            # A bug or a fault this run cannot get past: the job ends failed with the reason (never
            # `running` for ever), its file kept so that an operator can retry it once it is fixed.
            logger.exception("import %s failed: %s", job.pk, safe_summary(problem))
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportStatus.FAILED,
                error=str(
                    _("The import stopped on an unexpected error (%(error)s). It has been logged; retry it later.")
                    % {"error": type(problem).__name__}
                ),
                finished_at=timezone.now(),
            )
            return ImportJob.objects.select_related("created_by").get(pk=job.pk)
    job = ImportJob.objects.select_related("created_by").get(pk=job.pk)
    if job.status in (ImportStatus.COMPLETED, ImportStatus.FAILED) and job.file:
        invalid_rows_keep(job)
        # Personal data at rest only as long as needed; a failed job whose file was uploaded
        # again meanwhile (queued once more) keeps the new one.
        upload_discard(job, status=job.status)
    return job


def _nudge_coverage_compact() -> None:
    """Only a nudge: the coverage beat folds the counts anyway. The job has completed when this
    runs (outside a transaction, on_commit runs at once), so a broker that is down or restarting
    must not turn a completed import into a failed one (it did: the Redis-restart test, CI
    2026-12-02)."""
    nudge(coverage_compact_task, fallback="the beat will fold the counts")


@dataclass
class _Context:
    job: ImportJob
    user: User  # the official who uploaded the file, acting through the whole job
    actor: Actor
    scope: Scope
    headers: layout.HeaderMap
    codes: layout.CodeTables
    seen: dict[tuple[str, str], int]  # duplicate keys → the first row that had them


def _process(job: ImportJob, user: User) -> None:
    with upload_open(job) as upload, open_sheet(upload, job.file_format) as sheet:
        headers = layout.map_headers(sheet.header)
        if headers.missing:
            raise UnreadableFile(
                _("Missing columns: %(columns)s. Download the template from /api/v1/imports/template.xlsx.")
                % {"columns": ", ".join(headers.missing)}
            )
        if headers.repeated:
            raise UnreadableFile(_("Repeated columns: %(columns)s.") % {"columns": ", ".join(headers.repeated)})
        ImportJob.objects.filter(pk=job.pk).update(ignored_columns=headers.ignored, total_rows=sheet.total_rows)
        context = _Context(
            job=job,
            user=user,
            actor=Actor(user=user),
            scope=scope_of(user),
            headers=headers,
            codes=layout.CodeTables.load(),
            seen={},
        )
        done = job.processed_rows  # rows committed by an earlier run of this job
        offset = done
        for chunk in chunks_read_ahead(
            sheet.rows, headers, context.codes, context.seen, done=done, name=f"import-read-{job.pk}"
        ):
            _run_chunk(context, chunk, offset)
            offset += len(chunk)
    # total_rows: the data rows (blank rows, e.g. pre-formatted template rows, are not data).
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.COMPLETED,
        total_rows=F("created_count") + F("updated_count") + F("unchanged_count") + F("invalid_count"),
        finished_at=timezone.now(),
    )
    finished = ImportJob.objects.get(pk=job.pk)
    # An import appends many count changes at once: fold them now rather than at the next beat.
    transaction.on_commit(_nudge_coverage_compact)
    audit_event(
        context.actor,
        AuditAction.IMPORT,
        "import_job",
        str(job.id),
        area_code=job.area_code,
        context={
            "stage": "completed",
            "dry_run": job.dry_run,
            "rows": finished.total_rows,
            "created": finished.created_count,
            "updated": finished.updated_count,
            "unchanged": finished.unchanged_count,
            "invalid": finished.invalid_count,
        },
    )


@dataclass
class _RowWork:
    parsed: layout.ParsedRow
    result: str = RowResult.INVALID
    error: dict[str, Any] | None = None
    worker: SaveOutcome | None = None
    enrolment: EnrolmentOutcome | None = None


def _mapped_error(error: ServiceError, part: str, headers: layout.HeaderMap) -> dict[str, Any]:
    """The envelope body of an error, its field names turned into the file's column headers."""
    details = dict(error.details)
    fields = details.get("fields")
    if isinstance(fields, dict):
        details["fields"] = {layout.column_for(part, name, headers): messages for name, messages in fields.items()}
    details["part"] = part
    return envelope(error.code, error.message, details)["error"]


def _apply_layout_errors(cleaned: Any, row: layout.ParsedRow, part: str) -> None:
    """What the layout could not read replaces what cleaning said of the same field."""
    for target, messages in row.errors.items():
        prefix, name = target.split(".", 1)
        if prefix == part:
            cleaned.errors[name] = [ErrorDetail(str(message), code="invalid") for message in messages]


def _run_chunk(context: _Context, rows: list[layout.ParsedRow | None], offset: int) -> None:
    job, headers, scope = context.job, context.headers, context.scope
    work: list[_RowWork] = []
    for parsed in rows:
        if parsed is None:
            continue
        item = _RowWork(parsed=parsed)
        work.append(item)
        first = duplicate_of(parsed, context.seen)
        if first is not None:
            item.error = envelope(
                DUPLICATE_ROW,
                _("This row repeats the person of row %(row)d; only that row is imported.") % {"row": first},
                {"row": first},
            )["error"]
    candidates = [item for item in work if item.error is None]

    # Stable ids: the ID column, else the worker already holding the NIK in scope, else derived.
    niks = {
        blind_index(item.parsed.nik, purpose="nik"): item.parsed.nik
        for item in candidates
        if not item.parsed.explicit_id and item.parsed.nik
    }
    holders = {
        niks[index]: worker_id
        for index, worker_id, village in Worker.objects.filter(
            nik_bi__any=set(niks), deleted_at__isnull=True, needs_correction=False
        )
        .exclude(nik_bi="")  # the unique index's condition, so PostgreSQL may read it
        .values_list("nik_bi", "id", "village_id")
        if scope.covers(village)
    }
    for item in candidates:
        record = item.parsed.worker
        if not item.parsed.explicit_id:
            # A person without a NIK yet (pending) is told apart by name and birth date instead.
            key = item.parsed.nik or f"no-nik:{record.get('full_name') or ''}:{record.get('birth_date') or ''}"
            record["id"] = holders.get(item.parsed.nik) or layout.derived_worker_id(
                str(record.get("village") or ""), key
            )
    # A row about a stored person changes only the cells it fills (see layout.overlay).
    stored = {
        worker.id: worker
        for worker in Worker.objects.filter(
            id__any={str(item.parsed.worker["id"]) for item in candidates}, deleted_at__isnull=True
        )
    }
    for item in candidates:
        current = stored.get(str(item.parsed.worker["id"]))
        if current is not None:
            item.parsed.worker = layout.overlay(worker_as_input(current), item.parsed.worker)
    refs = worker_refs(user=context.user, records=[item.parsed.worker for item in candidates])
    cleaned_workers = []
    for item in candidates:
        cleaned = clean_worker(item.parsed.worker, refs=refs)
        _apply_layout_errors(cleaned, item.parsed, "worker")
        cleaned_workers.append(cleaned)

    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.processed_rows != offset or locked.status != ImportStatus.RUNNING:
            raise ImportConcurrentRun()
        savepoint = transaction.savepoint() if job.dry_run else None

        outcomes = workers_save(actor=context.actor, records=cleaned_workers, mode=SaveMode.UPSERT)
        for item, outcome in zip(candidates, outcomes, strict=True):
            item.worker = outcome
            if outcome.error is not None:
                item.error = _mapped_error(outcome.error, "worker", headers)
        enrolling = [i for i in candidates if i.error is None and i.parsed.enrolment is not None]
        if enrolling:
            _save_enrolments(context, enrolling)
        for item in work:
            item.result = _row_result(item)

        if savepoint is not None:
            transaction.savepoint_rollback(savepoint)
        _store_rows([_row(job, item) for item in work])
        counts = {result: sum(1 for item in work if item.result == result) for result in RowResult.values}
        ImportJob.objects.filter(pk=job.pk).update(
            processed_rows=offset + len(rows),
            heartbeat_at=timezone.now(),
            created_count=F("created_count") + counts[RowResult.CREATED],
            updated_count=F("updated_count") + counts[RowResult.UPDATED],
            unchanged_count=F("unchanged_count") + counts[RowResult.UNCHANGED],
            invalid_count=F("invalid_count") + counts[RowResult.INVALID],
        )


def _save_enrolments(context: _Context, items: list[_RowWork]) -> None:
    saved_workers = [item.worker.worker for item in items if item.worker is not None and item.worker.worker]
    worker_ids = [worker.id for worker in saved_workers]
    # Every enrolment of these people, once: the live one is the row's, a derived id may name a
    # rejected one, and a stored one is overlaid like a stored worker.
    stored: dict[str, Enrolment] = {}
    live: dict[str, str] = {}
    overlay_fields = ("worker_id", "segment", "programs", "funding_source_id", "budget_year", "funding_decree",
                      "coverage_start", "payment_period_months", "status", "needs_correction")  # fmt: skip
    for enrolment in Enrolment.objects.filter(worker_id__any=set(worker_ids), deleted_at__isnull=True).only(
        *overlay_fields
    ):
        stored[enrolment.id] = enrolment
        if enrolment.status in LIVE_STATUSES and not enrolment.needs_correction:
            live[enrolment.worker_id] = enrolment.id
    records = []
    for item in items:
        assert item.worker is not None
        assert item.parsed.enrolment is not None
        record = item.parsed.enrolment
        year = record.get("budget_year") or str(record.get("coverage_start") or "")[:4]
        enrolment_id = live.get(item.worker.id) or layout.derived_enrolment_id(item.worker.id, year)
        current = stored.get(enrolment_id)
        if current is not None:
            record = layout.overlay(enrolment_as_input(current), record)
        record["worker"], record["id"] = item.worker.id, enrolment_id
        item.parsed.enrolment = record
        records.append(record)
    # The workers were just saved for this official (so they are in scope): no second read.
    refs = EnrolmentRefs.load(scope=context.scope, worker_ids=(), extra_workers=saved_workers)
    cleaned = []
    for item, record in zip(items, records, strict=True):
        one = clean_enrolment(record, refs=refs)
        _apply_layout_errors(one, item.parsed, "enrolment")
        cleaned.append(one)
    outcomes = enrolments_save(actor=context.actor, records=cleaned, refs=refs, mode=SaveMode.UPSERT)
    for item, outcome in zip(items, outcomes, strict=True):
        item.enrolment = outcome
        if outcome.error is not None:
            item.error = _mapped_error(outcome.error, "enrolment", context.headers)


def _row_result(item: _RowWork) -> str:
    if item.error is not None:
        return RowResult.INVALID
    results = {item.worker.result if item.worker else None, item.enrolment.result if item.enrolment else None}
    if Result.CREATED in results:
        return RowResult.CREATED
    if Result.UPDATED in results:
        return RowResult.UPDATED
    return RowResult.UNCHANGED


_ROW_COLUMNS = ("job_id", "row_number", "result", "worker_id", "worker_result", "enrolment_id",
                "enrolment_result", "nik_masked", "full_name", "error", "warnings")  # fmt: skip


def _store_rows(rows: list[tuple[Any, ...]]) -> None:
    """A chunk's row results (tuples in _ROW_COLUMNS order): COPY on PostgreSQL (an 80,000-row
    file has 80,000 of them and the ORM's INSERT costs more than the rest of the bookkeeping),
    bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        ImportRow.objects.bulk_create([ImportRow(**dict(zip(_ROW_COLUMNS, row, strict=True))) for row in rows])
        return
    statement = f"COPY enrolment_importrow ({', '.join(_ROW_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.connection.cursor() as raw, raw.copy(statement) as copy:
        for *columns, error, warnings in rows:
            copy.write_row(
                [
                    *columns,
                    None if error is None else json.dumps(error, ensure_ascii=False),
                    json.dumps(warnings) if warnings else "[]",
                ]
            )


def _row(job: ImportJob, item: _RowWork) -> tuple[Any, ...]:
    """One row's result as _store_rows takes it (a model instance per row would cost more than
    writing it)."""
    worker, enrolment = item.worker, item.enrolment
    return (
        job.pk,
        item.parsed.row_number,
        item.result,
        worker.id if worker and worker.result != Result.INVALID else "",
        worker.result.value if worker else "",
        enrolment.id if enrolment and enrolment.result != Result.INVALID else "",
        enrolment.result.value if enrolment else "",
        mask_nik(item.parsed.nik)[:40],
        str(item.parsed.worker.get("full_name") or "")[:150],
        item.error,
        list(worker.worker.warnings) if worker and worker.worker is not None else [],
    )
