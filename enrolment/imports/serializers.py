"""Import job shapes on the wire (plain functions; the serializers describe them for OpenAPI)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.formats import iso_datetime
from enrolment.imports.models import ImportFormat, ImportJob, ImportRow, ImportStatus, RowResult


def import_job_representation(job: ImportJob) -> dict[str, Any]:
    done = job.status in (ImportStatus.COMPLETED, ImportStatus.FAILED)
    percent = 100 if job.status == ImportStatus.COMPLETED else None
    if not done and job.total_rows:
        percent = min(99, job.processed_rows * 100 // job.total_rows)
    return {
        "id": str(job.id),
        "status": job.status,
        "filename": job.filename,
        "format": job.file_format,
        "dry_run": job.dry_run,
        "created_at": iso_datetime(job.created_at),
        "created_by": job.created_by.username if job.created_by else None,
        "area": job.area_code or None,
        "started_at": iso_datetime(job.started_at),
        "finished_at": iso_datetime(job.finished_at),
        "progress": {"processed_rows": job.processed_rows, "total_rows": job.total_rows, "percent": percent},
        "counts": {
            "created": job.created_count,
            "updated": job.updated_count,
            "unchanged": job.unchanged_count,
            "invalid": job.invalid_count,
        },
        "error": job.error or None,
        "attempts": job.attempts,
        "retryable": job.status == ImportStatus.FAILED and bool(job.file),
        "ignored_columns": list(job.ignored_columns),
        "rows_url": f"/api/v1/imports/{job.id}/rows",
    }


def import_row_representation(row: ImportRow) -> dict[str, Any]:
    return {
        "row": row.row_number,
        "result": row.result,
        "worker": row.worker_id or None,
        "worker_result": row.worker_result or None,
        "enrolment": row.enrolment_id or None,
        "enrolment_result": row.enrolment_result or None,
        "nik": row.nik_masked,
        "full_name": row.full_name,
        "warnings": list(row.warnings),
        "error": row.error,
    }


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX in the layout of GET /api/v1/imports/template.xlsx.")
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Check every row and report, store nothing."
    )


class ImportProgressSerializer(serializers.Serializer):
    processed_rows = serializers.IntegerField(help_text="Rows read so far (blank rows included).")
    total_rows = serializers.IntegerField(
        allow_null=True, help_text="Estimated from the file while running; the data rows once completed."
    )
    percent = serializers.IntegerField(allow_null=True)


class ImportCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    invalid = serializers.IntegerField()


class ImportJobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ImportStatus.choices)
    filename = serializers.CharField()
    format = serializers.ChoiceField(choices=ImportFormat.choices)
    dry_run = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    area = serializers.CharField(allow_null=True, help_text="The area the job belongs to (the uploader's areas).")
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    progress = ImportProgressSerializer()
    counts = ImportCountsSerializer()
    error = serializers.CharField(allow_null=True, help_text="Why the whole file failed (e.g. missing columns).")
    attempts = serializers.IntegerField(help_text="Runs started; the sweeper restarts a job that stopped.")
    retryable = serializers.BooleanField(help_text="Failed with its file kept: POST /api/v1/imports/{id}/retry.")
    ignored_columns = serializers.ListField(child=serializers.CharField())
    rows_url = serializers.CharField()


class ImportRowErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField(
        help_text="`fields`: messages by the file's column header; `part`: worker or enrolment; "
        "`row`: for duplicate_row, the earlier row."
    )


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The spreadsheet row (the header is row 1).")
    result = serializers.ChoiceField(choices=RowResult.choices)
    worker = serializers.CharField(allow_null=True)
    worker_result = serializers.CharField(allow_null=True)
    enrolment = serializers.CharField(allow_null=True)
    enrolment_result = serializers.CharField(allow_null=True)
    nik = serializers.CharField(help_text="Masked.")
    full_name = serializers.CharField()
    warnings = serializers.ListField(child=serializers.CharField())
    error = ImportRowErrorSerializer(allow_null=True, help_text="In the language of the request that made the job.")


class ImportRowFilterSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=RowResult.choices, required=False)
