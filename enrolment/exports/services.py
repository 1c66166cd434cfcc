"""Exports of an area's workers and enrolments as CSV or XLSX, streamed and audited.

- Workers are exported in the import layout (the template's columns, in its order) with their
  live enrolment, followed by read-only columns the importer ignores (status, KPJ, warnings).
  An operator can edit such a file and import it again: the `ID` column keeps every row on its
  record. That round trip needs the full NIK, which only village operators may ask for
  (`full_nik=true`, their own villages being their whole scope); everyone else, and every export
  by default, gets NIKs masked (`1704********0001`), as API.md requires of exports.
- Enrolments: one row per enrolment (not deleted) with its worker's name and masked NIK.
- CSV is generated row by row into the response (UTF-8 with BOM, so Excel shows names right).
  XLSX is written by openpyxl's write-only mode (rows go to a temporary file as they come, so
  memory stays flat) and the finished file is streamed out, then deleted.
- Every export writes one audit event (action `export`) before the first byte: who, which
  area, format, filters, row count and whether NIKs were full.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

from config.errors import PermissionDenied
from enrolment.imports.layout import HEADERS
from enrolment.models import LIVE_STATUSES, Enrolment, Status
from villages.audit import Actor, audit_event, audit_people_in, mask_nik
from villages.models import AuditAction
from villages.scope import scope_of
from workers.models import Worker
from workers.permissions import count_bulk_access, may_export_full_nik

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 2000
_SEX = {"M": "L", "F": "P"}
_CONSENT = {"signature": "tanda tangan", "thumbprint": "cap jempol", "verbal": "lisan"}
_RELATIONSHIP = {
    "spouse": "suami/istri",
    "child": "anak",
    "parent": "orang tua",
    "sibling": "saudara",
    "other": "lainnya",
}
_SUBMITTED = {Status.SUBMITTED, Status.VERIFIED, Status.QUEUED, Status.ACTIVE}

WORKER_EXTRA = ("Status Kepesertaan", "No KPJ", "Peringatan", "Perlu Koreksi", "Diperbarui")
ENROLMENT_HEADERS = (
    "ID Kepesertaan", "ID Pekerja", "NIK", "Nama Lengkap", "Kode Desa", "Pekerjaan", "Segmen", "Program",
    "Sumber Dana", "Tahun Anggaran", "SK Pendanaan", "Mulai Kepesertaan", "Masa Bayar (Bulan)",
    "Iuran per Bulan", "Iuran per Tahun", "Status", "Alasan Status", "No KPJ", "Tanggal Sinkron",
    "Peringatan", "Perlu Koreksi", "Diperbarui",
)  # fmt: skip


@dataclass
class Export:
    kind: str  # workers | enrolments
    headers: tuple[str, ...]
    rows: Iterable[list[Any]]
    count: int


def _day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%d-%m-%Y %H:%M:%S")
    return value.strftime("%d-%m-%Y")


def _worker_row(worker: Worker, show: Callable[[str], str]) -> list[Any]:
    prefetched = getattr(worker, "live_enrolments", None) or []  # export_prepare's Prefetch
    live = prefetched[0] if prefetched else None
    heir = worker.heirs[0] if worker.heirs else {}
    row = [
        worker.id, show(worker.nik), show(worker.kk_number), worker.full_name, _SEX.get(worker.sex, ""),
        worker.birth_place, _day(worker.birth_date), worker.phone, worker.village_id, worker.address_street,
        worker.address_dusun, worker.address_rt, worker.address_rw, worker.occupation_id or "",
        worker.kusuka_number, worker.monthly_income if worker.monthly_income is not None else "",
        worker.mother_maiden_name, heir.get("name", ""), _RELATIONSHIP.get(heir.get("relationship", ""), ""),
        show(heir.get("nik", "")), heir.get("phone", ""), _day(worker.consent_given_at),
        _CONSENT.get(worker.consent_method, ""),
    ]  # fmt: skip
    if live is not None:
        row += [
            live.funding_source_id or "", live.budget_year or "", live.funding_decree, _day(live.coverage_start),
            ", ".join(live.programs), live.payment_period_months, "Ya" if live.status in _SUBMITTED else "Tidak",
            live.status, live.registry_number,
        ]  # fmt: skip
    else:
        row += ["", "", "", "", "", "", "", "", ""]
    row += [", ".join(worker.warnings), "ya" if worker.needs_correction else "", _day(worker.updated_at)]
    return row


def _enrolment_row(enrolment: Enrolment) -> list[Any]:
    worker = enrolment.worker
    return [
        enrolment.id, worker.id, mask_nik(worker.nik), worker.full_name, enrolment.village_id,
        worker.occupation_id or "", enrolment.segment, ", ".join(enrolment.programs),
        enrolment.funding_source_id or "", enrolment.budget_year or "", enrolment.funding_decree,
        _day(enrolment.coverage_start), enrolment.payment_period_months, enrolment.monthly_contribution,
        enrolment.annual_contribution, enrolment.status, enrolment.status_reason, enrolment.registry_number,
        _day(enrolment.synced_at), ", ".join(sorted({*worker.warnings, *enrolment.warnings})),
        "ya" if enrolment.needs_correction or worker.needs_correction else "", _day(enrolment.updated_at),
    ]  # fmt: skip


def export_prepare(
    *,
    actor: Actor,
    kind: str,
    file_format: str,
    area: str | None,
    full_nik: bool = False,
    status: set[str] | None = None,
    budget_year: int | None = None,
) -> Export:
    """Selects the rows (scoped: Http404 for an area outside the caller's), audits the export and
    returns the rows to stream. PermissionDenied when full NIKs are asked for by a role that may
    not see them."""
    user = actor.user
    assert user is not None
    if full_nik and (kind != "workers" or not may_export_full_nik(user)):
        raise PermissionDenied()
    scope = scope_of(user)
    if area:
        scope = scope.within(area)
    if kind == "workers":
        workers: QuerySet[Worker] = scope.filter(Worker.objects.filter(deleted_at__isnull=True), "village__code")
        live = Enrolment.objects.filter(status__in=LIVE_STATUSES, deleted_at__isnull=True).order_by(
            "needs_correction", "-updated_at"
        )
        count = workers.count()
        queryset: QuerySet[Any] = workers.order_by("village_id", "id").prefetch_related(
            Prefetch("enrolments", queryset=live, to_attr="live_enrolments")
        )
        show: Callable[[str], str] = (lambda value: value) if full_nik else mask_nik
        rows: Iterable[list[Any]] = (_worker_row(w, show) for w in queryset.iterator(chunk_size=CHUNK))
        headers = (*HEADERS, *WORKER_EXTRA)
    else:
        enrolments = scope.filter(Enrolment.objects.filter(deleted_at__isnull=True), "village__code")
        if status:
            enrolments = enrolments.filter(status__in=status)
        if budget_year:
            enrolments = enrolments.filter(budget_year=budget_year)
        count = enrolments.count()
        queryset = enrolments.select_related("worker").order_by("village_id", "id")
        rows = (_enrolment_row(e) for e in queryset.iterator(chunk_size=CHUNK))
        headers = ENROLMENT_HEADERS
    filters: dict[str, Any] = {"status": sorted(status)} if status else {}
    if budget_year:
        filters["budget_year"] = budget_year
    event = audit_event(
        actor,
        AuditAction.EXPORT,
        "worker" if kind == "workers" else "enrolment",
        area_code=area or "",
        context={"format": file_format, "count": count, "full_nik": full_nik, "filters": filters},
    )
    # Everyone in the file, one audit row each (ids only), in one INSERT … SELECT of the same rows.
    if kind == "workers":
        audit_people_in(actor, event, workers)
    else:
        audit_people_in(actor, event, enrolments, person="worker_id")
    count_bulk_access(actor, count, what="export")
    return Export(kind=kind, headers=headers, rows=rows, count=count)


# OWASP's CSV injection advice: a text cell beginning with one of these is read as a formula by
# spreadsheet programs (`=HYPERLINK(…)`, `@SUM(…)`, `+cmd|…`).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A phone number in international form is the one ordinary value that begins with one of them;
# a row of digits cannot call anything.
_PHONE = re.compile(r"\+\d{6,15}")


def _formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_FORMULA_START) and not _PHONE.fullmatch(value)


def _csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet would run as a formula, quoted: `'=…` (the import takes
    the quote off again, enrolment/imports/readers.py)."""
    return "'" + value if _formula_like(value) else value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_stream(export: Export) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(export.headers)
    for row in export.rows:
        yield writer.writerow([_csv_cell(value) for value in row])


def export_response(export: Export, *, file_format: str, filename: str) -> StreamingHttpResponse | FileResponse:
    if file_format == "csv":
        response: StreamingHttpResponse | FileResponse = StreamingHttpResponse(
            _csv_stream(export), content_type="text/csv; charset=utf-8"
        )
    else:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Peserta" if export.kind == "workers" else "Kepesertaan")
        sheet.append(list(export.headers))

        def as_text(value: Any) -> Any:
            # openpyxl writes a string beginning with "=" as a formula: these are text cells.
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell

        for row in export.rows:
            sheet.append([as_text(value) if _formula_like(value) else value for value in row])
        handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - closed (and deleted) by the response
        workbook.save(handle)
        handle.seek(0)
        response = FileResponse(handle, content_type=XLSX_TYPE)
    # Only safe characters in the header: an area from the query (control characters, quotes)
    # must not break it (gunicorn answered such a response with its own HTML 500).
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:150]
    response["Content-Disposition"] = f'attachment; filename="{safe_name}.{file_format}"'
    response["X-Export-Count"] = str(export.count)
    response["Cache-Control"] = "no-store"  # personal data: never kept by a browser or proxy cache
    return response
