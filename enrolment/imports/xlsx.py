"""Reading the first worksheet of an XLSX file as rows of values, streamed.

openpyxl's read-only mode streams too, but spends a lot of Python per cell (a dict and a
descriptor-checked Text object per cell, coordinates parsed from strings) and, when the file
declares no dimension (openpyxl's own write-only files don't), parses the whole sheet once more
just to find that out: four to five times this reader's time (docs/measurements.md). Here the
sheet's XML goes through ElementTree's C parser and each finished row is turned into values in
one small loop; the workbook's parts that decide what a value means (which sheet is first, the
1900/1904 date epoch, which styles are dates) are still read by openpyxl, so the values are the ones
`load_workbook(read_only=True, data_only=True)` gives: numbers as int or float, date-styled
numbers as datetime (or time / timedelta), shared and inline strings as text, booleans, error
codes as their text (`#N/A`), formulas as their cached value.

Two differences, both on purpose: rows beyond the dimension a file declares are still read (the
dimension is only a progress estimate here, and files do lie), and the shared strings are read by
a loop of our own (openpyxl builds an object per string).
"""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import column_index_from_string, range_boundaries
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

_ROW = f"{{{SHEET_MAIN_NS}}}row"
_VALUE = f"{{{SHEET_MAIN_NS}}}v"
_INLINE = f"{{{SHEET_MAIN_NS}}}is"
_TEXT = f"{{{SHEET_MAIN_NS}}}t"
_RUN = f"{{{SHEET_MAIN_NS}}}r"
_STRING_ITEM = f"{{{SHEET_MAIN_NS}}}si"
_DIMENSION = f"{{{SHEET_MAIN_NS}}}dimension"
_SHEET_DATA = f"{{{SHEET_MAIN_NS}}}sheetData"
_SST = f"{{{SHEET_MAIN_NS}}}sst"
# Input per parser call. The C parser holds the GIL for a whole call, and an import reads in a
# thread beside the one writing to PostgreSQL: with large blocks every query the writer sent
# waited for a whole block's parsing to resume. 16 KB costs nothing in parsing speed.
_BLOCK = 16 * 1024
_DIGITS = "0123456789"


class XlsxError(Exception):
    """The file is not an XLSX workbook this reader can read (damaged, not a zip, no sheet)."""


class XlsxTooLarge(XlsxError):
    """The workbook's parts unpack to more than the reader accepts (a zip bomb, or just huge)."""


@dataclass
class Workbook:
    """The first worksheet of an open XLSX file."""

    archive: zipfile.ZipFile
    sheet_path: str
    strings: list[str]
    epoch: Any
    date_styles: frozenset[int]
    duration_styles: frozenset[int]
    declared_rows: int | None = field(default=None)  # from <dimension>, once the rows have begun

    def rows(self) -> Iterator[list[Any]]:
        """Every row from the first, as a list of values (None for empty cells; a row missing
        from the file, or without cells, is []). Raises XlsxError for XML that does not parse."""
        expected = 1
        try:
            with self.archive.open(self.sheet_path) as source:
                for row in _children(source, _SHEET_DATA, on_start=self._note_dimension):
                    if row.tag != _ROW:
                        continue
                    number = row.get("r")
                    index = int(float(number)) if number else expected
                    if index < expected:  # out of order: skipped, as openpyxl does
                        continue
                    while expected < index:
                        expected += 1
                        yield []
                    expected += 1
                    yield self._values(row)
        except (ParseError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
            raise XlsxError(str(exc)) from exc

    def _note_dimension(self, element: Element) -> None:
        if element.tag == _DIMENSION:
            self.declared_rows = range_boundaries(element.get("ref", "A1"))[3]

    def _values(self, row: Element) -> list[Any]:
        values: list[Any] = []
        for cell in row:
            reference = cell.get("r")
            column = _column(reference.rstrip(_DIGITS)) if reference else len(values) + 1
            kind = cell.get("t")
            value: Any = None
            if kind == "inlineStr":
                for child in cell:
                    if child.tag == _INLINE:
                        value = _text(child)
            else:
                for child in cell:
                    if child.tag == _VALUE:
                        value = child.text or None
                if value is not None:
                    value = self._convert(value, kind or "n", cell.get("s"))
            if column == len(values) + 1:
                values.append(value)
            elif column > len(values):
                values.extend([None] * (column - 1 - len(values)))
                values.append(value)
            else:  # a column given twice, or out of order: the later cell wins, as in openpyxl
                values[column - 1] = value
        return values

    def _convert(self, raw: str, kind: str, style: str | None) -> Any:
        if kind == "n":
            number = float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
            style_id = int(style) if style else 0
            if style_id in self.date_styles:
                try:
                    return from_excel(number, self.epoch, timedelta=style_id in self.duration_styles)
                except (OverflowError, ValueError):
                    return "#VALUE!"  # a date style on a number no date has: openpyxl's error value
            return number
        if kind == "s":
            return self.strings[int(raw)]
        if kind == "b":
            return bool(int(raw))
        if kind == "d":
            return from_ISO8601(raw)
        return raw  # "str" (a formula's text), "e" (an error code)

    def close(self) -> None:
        self.archive.close()


def open_workbook(path: Any, *, max_unpacked_bytes: int | None = None) -> Workbook:
    """Opens an XLSX file and reads what its rows need. Raises XlsxError, XlsxTooLarge when its
    parts unpack to more than `max_unpacked_bytes` together. The sizes a zip declares bound what
    is read: zipfile stops at an entry's declared size (and fails its CRC if the data goes on),
    so a part cannot expand past what was checked here."""
    try:
        reader = ExcelReader(path, read_only=True, data_only=True)
    except Exception as exc:  # not a zip, or not one openpyxl accepts (InvalidFileException)
        raise XlsxError(str(exc)) from exc
    if max_unpacked_bytes is not None:
        unpacked = sum(info.file_size for info in reader.archive.infolist())
        if unpacked > max_unpacked_bytes:
            reader.archive.close()
            raise XlsxTooLarge(f"{unpacked} bytes unpacked")
    try:
        reader.read_manifest()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheet_path = next(
            (
                rel.target
                for _sheet, rel in reader.parser.find_sheets()
                if rel.target in reader.valid_files and "chartsheet" not in rel.Type
            ),
            None,
        )
        if sheet_path is None:
            raise XlsxError("no worksheet")
        part = reader.package.find(SHARED_STRINGS)
        strings: list[str] = []
        if part is not None:
            with reader.archive.open(part.PartName[1:]) as source:
                strings = _shared_strings(source)
        wb = reader.wb
        return Workbook(
            archive=reader.archive,
            sheet_path=sheet_path,
            strings=strings,
            epoch=wb.epoch,
            # Style indexes whose number format is a date, or a duration ([h]:mm), as openpyxl
            # works them out from styles.xml.
            # openpyxl's reader sets these while applying styles.xml (no public API; the
            # version is pinned and tests/panel/test_xlsx_reader.py compares with openpyxl).
            date_styles=frozenset(wb._date_formats),  # type: ignore[attr-defined]
            duration_styles=frozenset(wb._timedelta_formats),  # type: ignore[attr-defined]
        )
    except XlsxError:
        reader.archive.close()
        raise
    except Exception as exc:  # a damaged part: whatever openpyxl or the XML parser raised
        reader.archive.close()
        raise XlsxError(str(exc)) from exc


def _children(
    source: IO[bytes], container: str, on_start: Callable[[Element], None] | None = None
) -> Iterator[Element]:
    """The child elements of the first `container` element (<sheetData>: rows; <sst>: strings),
    each once complete, streamed from `source`.

    Until the container opens, the parser reports each element's start (to `on_start`, and to
    find the container). From there it reports nothing: it builds the rows into the container as
    usual, and after each block of input every child but the last (which may still be open) is
    complete, handed out and dropped. Handing each of a row's ~60 elements back to Python as an
    event, as iterparse does, costs three times the parsing itself. `_setevents` is how
    XMLPullParser asks the C parser for events; without it events keep coming and are dropped,
    slower but the same.
    """
    parser: XMLPullParser[Element] = XMLPullParser(events=("start",))
    found: Element | None = None
    while found is None:
        block = source.read(_BLOCK)
        if not block:
            break
        parser.feed(block)
        for event in parser.read_events():
            element = event[-1]  # ("start", element): the only events asked for
            if found is not None or not isinstance(element, Element):
                continue  # elements inside the container: it is read below
            if element.tag == container:
                found = element
            elif on_start is not None:
                on_start(element)
    if found is None:
        parser.close()
        return
    # CPython internals, so looked up defensively: another interpreter just reads slower.
    quiet = getattr(getattr(parser, "_parser", None), "_setevents", None)
    queue = getattr(parser, "_events_queue", None)
    if quiet is not None and queue is not None:
        quiet(queue, ())
    while True:
        block = source.read(_BLOCK)
        if block:
            parser.feed(block)
        else:
            parser.close()
        for _event in parser.read_events():
            pass
        complete = list(found) if not block else found[:-1]
        if complete:
            del found[: len(complete)]
            yield from complete
        if not block:
            return


def _text(element: Element) -> str:
    """A string item (<si>, or <is> inline): its plain text and its rich-text runs' text,
    without phonetic guides (<rPh>), as openpyxl's Text.content."""
    if len(element) == 1 and element[0].tag == _TEXT:  # plain text, the usual case
        return element[0].text or ""
    parts = []
    for child in element:
        if child.tag == _TEXT:
            if child.text is not None:
                parts.append(child.text)
        elif child.tag == _RUN:
            for piece in child:
                if piece.tag == _TEXT and piece.text is not None:
                    parts.append(piece.text)
    return "".join(parts)


def _shared_strings(source: IO[bytes]) -> list[str]:
    # x005F_ escapes an underscore sequence that would otherwise read as an escape (as openpyxl).
    return [_text(item).replace("x005F_", "") for item in _children(source, _SST) if item.tag == _STRING_ITEM]


@functools.lru_cache(maxsize=1024)
def _column(letters: str) -> int:
    """`AB` → 28 (a sheet has few distinct column letters: each is worked out once)."""
    return column_index_from_string(letters)
