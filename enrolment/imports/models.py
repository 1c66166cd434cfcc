"""An import job and the result of each of its rows."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from villages.models import User


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    COMPLETED = "completed", _("completed")
    FAILED = "failed", _("failed")


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class RowResult(models.TextChoices):
    CREATED = "created", _("created")
    UPDATED = "updated", _("updated")
    UNCHANGED = "unchanged", _("unchanged")
    INVALID = "invalid", _("invalid")


class ImportJob(models.Model):
    """One uploaded file and its processing.

    The file is kept under MEDIA_ROOT/imports/ until the job completes, so a worker that dies
    halfway can resume it (`processed_rows` advances in the same transaction as each chunk's
    writes). `area_code` is the narrowest area covering the creator's scope when the job was
    made: who may read the job is decided on it, like any record of that area.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # The creator's areas when the job was made ([] for an admin: everything), and their common
    # ancestor ("" when they have none, or for an admin).
    scope_codes = models.JSONField(default=list, blank=True, verbose_name=_("scope codes"))
    area_code = models.CharField(max_length=13, blank=True, verbose_name=_("area code"))
    language = models.CharField(
        max_length=8, default="id", verbose_name=_("language")
    )  # of the creating request: row messages
    filename = models.CharField(max_length=255, verbose_name=_("filename"))
    file_format = models.CharField(max_length=4, choices=ImportFormat.choices, verbose_name=_("file format"))
    file = models.FileField(upload_to="imports/", blank=True, verbose_name=_("file"))
    file_size = models.PositiveBigIntegerField(default=0, verbose_name=_("file size"))
    file_sha256 = models.CharField(max_length=64, verbose_name=_("file SHA-256 hash"))
    # The invalid rows as uploaded, to fix and upload again (imports/invalid_rows.py: kept for
    # IMPORT_INVALID_ROWS_HOURS after the job ends).
    invalid_rows_file = models.FileField(upload_to="imports/invalid/", blank=True, verbose_name=_("invalid rows file"))
    # Headers of the file that are not import columns (e.g. an export's status columns): skipped.
    ignored_columns = models.JSONField(default=list, blank=True, verbose_name=_("ignored columns"))
    dry_run = models.BooleanField(default=False, verbose_name=_("dry run"))

    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED, verbose_name=_("status")
    )
    error = models.TextField(
        blank=True, verbose_name=_("error")
    )  # why the whole file failed (unreadable, missing columns)
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    # Data rows read so far, and the file's total once known (XLSX tells up front; CSV at the end).
    processed_rows = models.PositiveIntegerField(default=0, verbose_name=_("processed rows"))
    # Runs started (each delivery of the task that claims the job), and the last sign of life:
    # set at each claim and with each committed chunk. A queued or running job whose heartbeat is
    # older than IMPORT_STALL_SECONDS has lost its worker or its nudge: the sweeper starts it again.
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("heartbeat at"))
    total_rows = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("total rows"))
    created_count = models.PositiveIntegerField(default=0, verbose_name=_("created count"))
    updated_count = models.PositiveIntegerField(default=0, verbose_name=_("updated count"))
    unchanged_count = models.PositiveIntegerField(default=0, verbose_name=_("unchanged count"))
    invalid_count = models.PositiveIntegerField(default=0, verbose_name=_("invalid count"))

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["area_code", "created_at"], name="import_area_created"),
            # The sweeper's scan: only the few unfinished jobs.
            models.Index(
                fields=["heartbeat_at"],
                name="import_unfinished",
                condition=Q(status__in=["queued", "running"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="import_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"


class ImportRow(models.Model):
    """What happened to one data row. `row_number` is the row as a spreadsheet shows it (the
    header is row 1). Messages are stored in the job's language; `error` is the API's envelope
    body, with field errors named by the file's column headers."""

    # Not indexed on its own: the unique (job, row_number) below serves every lookup by job.
    job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="rows", db_index=False, verbose_name=_("job")
    )
    row_number = models.PositiveIntegerField(verbose_name=_("row number"))
    result = models.CharField(max_length=10, choices=RowResult.choices, verbose_name=_("result"))
    worker_id = models.CharField(max_length=64, blank=True, verbose_name=_("worker ID"))
    worker_result = models.CharField(max_length=10, blank=True, verbose_name=_("worker result"))
    enrolment_id = models.CharField(max_length=64, blank=True, verbose_name=_("enrolment ID"))
    enrolment_result = models.CharField(max_length=10, blank=True, verbose_name=_("enrolment result"))
    nik_masked = models.CharField(max_length=40, blank=True, verbose_name=_("NIK (masked)"))
    full_name = models.CharField(max_length=150, blank=True, verbose_name=_("full name"))
    error = models.JSONField(null=True, blank=True, verbose_name=_("error"))
    warnings = models.JSONField(default=list, blank=True, verbose_name=_("warnings"))

    class Meta:
        verbose_name = _("import row")
        verbose_name_plural = _("import rows")
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["job_id", "row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="import_row_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row_number} {self.result}"
