"""The invalid rows of an import as a spreadsheet to fix and upload again: the uploaded file's own
header and the cells of each invalid row, plus a reason column.

Written from the upload when the job ends, just before the upload itself is deleted, and kept only
IMPORT_INVALID_ROWS_HOURS (the `enrolment.imports.prune_invalid_rows` beat task deletes it): it
holds personal data, at rest only as long as an operator needs it to correct the rows, and
encrypted there (config/pii.py `encrypt_bytes`, bound to the job's id): the stored file holds no
plaintext identifier; `invalid_rows_read` opens it for the download. `manage.py reencrypt`
re-seals the kept files under the first key (`InvalidRowsFiles`, declared on ImportsConfig). The
upload it is written from is sealed too (uploads.py): it is opened into memory for this.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from config.pii import DecryptionError, decrypt_bytes, encrypt_bytes
from enrolment.imports.models import ImportJob, ImportRow, ImportStatus, RowResult
from enrolment.imports.readers import open_sheet
from enrolment.imports.sealed import SealedJobFiles
from enrolment.imports.uploads import upload_open


def row_reason(error: dict[str, Any] | None) -> str:
    """An import row's error as one line: the message, then each column's problems."""
    if not error:
        return ""
    parts = [str(error.get("message") or "")]
    fields = (error.get("details") or {}).get("fields") or {}
    for column, problems in fields.items():
        parts.append(f"{column}: {'; '.join(str(p) for p in problems)}")
    return " · ".join(p for p in parts if p)


def _text_cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"  # a value beginning with "=" stays text, never a formula
    return cell


def _invalid_rows_xlsx(job: ImportJob) -> bytes:
    """XLSX of the job's invalid rows as they were uploaded, the reason in the last column. The
    reason column is not a template column, so the import ignores it on the way back in."""
    reasons = {
        number: row_reason(error)
        for number, error in ImportRow.objects.filter(job=job, result=RowResult.INVALID)
        .order_by("row_number")
        .values_list("row_number", "error")
    }
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Invalid rows"))
    with upload_open(job) as upload, open_sheet(upload, job.file_format) as source:
        width = len(source.header)
        sheet.append([*source.header, _("Reason (delete before upload)")])
        for number, cells in enumerate(source.rows, start=2):  # the header is row 1
            if number in reasons:
                # A short row is padded, so the reason stays in its own column; characters a
                # worksheet cannot hold (NUL and other controls, often why the row is invalid)
                # are dropped; cells stay text, never formulas (_text_cell).
                padded = [*cells, *[None] * (width - len(cells))]
                sheet.append([*(_text_cell(sheet, c) for c in padded), reasons[number]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def invalid_rows_keep(job: ImportJob) -> None:
    """Saves the invalid rows' spreadsheet of a completed job whose upload is still stored.
    Idempotent: a job that has one keeps it."""
    if job.status != ImportStatus.COMPLETED or not job.invalid_count or not job.file or job.invalid_rows_file:
        return
    with translation.override(job.language):
        body = _invalid_rows_xlsx(job)
    sealed = encrypt_bytes(body, context=_context(job))
    job.invalid_rows_file.save(f"{job.id}.xlsx.enc", ContentFile(sealed), save=False)
    ImportJob.objects.filter(pk=job.pk).update(invalid_rows_file=job.invalid_rows_file.name)


def _context(job: ImportJob) -> str:
    return f"import-invalid-rows:{job.id}"


def invalid_rows_read(job: ImportJob) -> bytes | None:
    """The job's invalid rows' spreadsheet (XLSX bytes), or None when none is kept or it no longer
    opens (a key since dropped, another job's file, or one stored before files were encrypted:
    that one is deleted now rather than served)."""
    if not job.invalid_rows_file:
        return None
    with job.invalid_rows_file.open("rb") as handle:
        blob = handle.read()
    try:
        return decrypt_bytes(blob, context=_context(job))
    except DecryptionError:
        job.invalid_rows_file.delete(save=True)
        return None


def invalid_rows_prune(*, older_than: dt.timedelta | None = None) -> int:
    """Deletes the invalid rows' spreadsheets of jobs finished longer ago than the retention.
    Idempotent; answers how many were deleted."""
    cutoff = timezone.now() - (older_than or dt.timedelta(hours=settings.IMPORT_INVALID_ROWS_HOURS))
    deleted = 0
    for job in ImportJob.objects.filter(finished_at__lt=cutoff).exclude(invalid_rows_file=""):
        job.invalid_rows_file.delete(save=True)
        deleted += 1
    return deleted


class InvalidRowsFiles(SealedJobFiles):
    """The kept spreadsheets for `manage.py reencrypt` (sealed.py says how it stays safe):
    re-sealed into `imports/invalid/<job>.<key id>.xlsx.enc`. One stored in plaintext before
    these files were sealed is left to the download, which deletes it."""

    label = "enrolment.ImportJob.invalid_rows_file"
    field = "invalid_rows_file"

    def context(self, job: ImportJob) -> str:
        return _context(job)

    def target(self, job: ImportJob, key_id: str) -> str:
        return f"imports/invalid/{job.id}.{key_id}.xlsx.enc"
