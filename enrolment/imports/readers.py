"""Rows out of an uploaded CSV or XLSX file, streamed: never the whole sheet parsed into memory
(the file itself is: an upload is sealed at rest and opened into memory, uploads.py; at most
MAX_UPLOAD_BYTES).

XLSX goes through enrolment.imports.xlsx (it parses the sheet's XML as it iterates); CSV
through the csv module over the file object. Offices save CSV from Excel in whatever their
Windows uses, so the encoding (UTF-8, with or without BOM, else Windows-1252) and the delimiter
(`,`, `;` or tab) are detected from the start of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from enrolment.imports.models import ImportFormat

SNIFF_BYTES = 64 * 1024


class UnreadableFile(Exception):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass
class Sheet:
    header: list[Any]
    rows: Iterator[list[Any]]  # data rows after the header, blank ones included
    total_rows: int | None  # data rows, when the format says so up front


# A cell an export neutralised against formula injection (enrolment/exports/services.py): `'=…`, `'+…`.
_NEUTRALISED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def _capped(rows: Iterator[list[Any]], *, neutralised: bool) -> Iterator[list[Any]]:
    """The data rows, within IMPORT_MAX_ROWS and IMPORT_MAX_COLUMNS (else UnreadableFile: the
    rows before stay imported, as for a file damaged halfway); trailing empty cells dropped. For
    CSV, the quote an export put before a formula-like cell is taken off again."""
    max_rows, max_columns = settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_COLUMNS
    for count, row in enumerate(rows, start=1):
        if count > max_rows:
            raise UnreadableFile(_("The file has more than %(limit)d rows: split it.") % {"limit": max_rows})
        while row and row[-1] in (None, ""):
            row.pop()
        if len(row) > max_columns:
            raise UnreadableFile(
                _("Row %(row)d has more than %(limit)d columns.") % {"row": count + 1, "limit": max_columns}
            )
        if neutralised:
            row = [v[1:] if isinstance(v, str) and v.startswith(_NEUTRALISED) else v for v in row]
        yield row


def _header(cells: list[Any]) -> list[Any]:
    while cells and cells[-1] in (None, ""):
        cells.pop()
    if len(cells) > settings.IMPORT_MAX_COLUMNS:
        raise UnreadableFile(_("The file has more than %(limit)d columns.") % {"limit": settings.IMPORT_MAX_COLUMNS})
    # A header is only a name: a NUL in it (which no database column can hold) is dropped.
    return [c.replace("\x00", "")[: settings.IMPORT_MAX_CELL_CHARS] if isinstance(c, str) else c for c in cells]


def detect_format(name: str, head: bytes) -> str | None:
    """xlsx (a zip) or csv (text), from the file's first bytes and then its name."""
    if head.startswith(b"PK\x03\x04"):
        return ImportFormat.XLSX
    lowered = name.lower()
    if lowered.endswith((".csv", ".txt")) or (head and b"\x00" not in head[:SNIFF_BYTES]):
        return ImportFormat.CSV
    return None


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start < len(head) - 4:
            return "cp1252"
    return "utf-8"


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


@contextmanager
def open_sheet(source: Path | IO[bytes], file_format: str) -> Iterator[Sheet]:
    """The header row and an iterator over the data rows of a file, by path or as a seekable
    binary file object (an upload opened into memory: enrolment/imports/uploads.py, which the
    caller closes). Raises UnreadableFile."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as raw, open_sheet(raw, file_format) as sheet:
            yield sheet
        return
    if file_format == ImportFormat.XLSX:
        with _xlsx(source) as sheet:
            yield sheet
    else:
        with _csv(source) as sheet:
            yield sheet


@contextmanager
def _csv(raw: IO[bytes]) -> Iterator[Sheet]:
    head = raw.read(SNIFF_BYTES)
    raw.seek(0)
    encoding = _encoding(head)
    handle = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    try:
        first_line = handle.readline()
        handle.seek(0)
        reader = csv.reader(handle, delimiter=_delimiter(first_line))
        try:
            header = next(reader)
        except StopIteration:
            raise UnreadableFile(_("The file is empty.")) from None
        except csv.Error as exc:
            raise UnreadableFile(_("The file could not be read as CSV.")) from exc
        yield Sheet(header=_header(header), rows=_capped(_csv_rows(reader), neutralised=True), total_rows=None)
    finally:
        handle.detach()  # the binary file stays its owner's to close


def _csv_rows(reader: Any) -> Iterator[list[Any]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise UnreadableFile(_("Row %(row)d could not be read as CSV.") % {"row": reader.line_num}) from exc


@contextmanager
def _xlsx(raw: IO[bytes]) -> Iterator[Sheet]:
    from enrolment.imports.xlsx import XlsxError, XlsxTooLarge, open_workbook

    try:
        workbook = open_workbook(raw, max_unpacked_bytes=settings.IMPORT_MAX_UNPACKED_BYTES)
    except XlsxTooLarge as exc:
        raise UnreadableFile(
            _("The workbook unpacks to more than %(limit)d MB: split it.")
            % {"limit": settings.IMPORT_MAX_UNPACKED_BYTES // (1024 * 1024)}
        ) from exc
    except XlsxError as exc:
        raise UnreadableFile(_("The file could not be read as XLSX.")) from exc
    try:
        rows = _xlsx_rows(workbook.rows())
        header = next(rows, None)
        if header is None:
            raise UnreadableFile(_("The file is empty."))
        # The dimension the file declares (read by now: it comes before the rows); only a
        # progress estimate (files may lie or omit it).
        declared = workbook.declared_rows
        yield Sheet(
            header=_header(header),
            rows=_capped(rows, neutralised=False),
            total_rows=declared - 1 if declared and declared > 1 else None,
        )
    finally:
        workbook.close()


def _xlsx_rows(rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    from enrolment.imports.xlsx import XlsxError

    try:
        yield from rows
    except XlsxError as exc:
        raise UnreadableFile(_("The file could not be read as XLSX.")) from exc
