"""enrolment.imports.xlsx reads what openpyxl reads, streamed, and refuses damaged files."""

import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from enrolment.imports.readers import UnreadableFile, open_sheet
from enrolment.imports.xlsx import XlsxError, open_workbook


def openpyxl_rows(path):
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        return [_trimmed(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def our_rows(path):
    workbook = open_workbook(path)
    try:
        return [_trimmed(row) for row in workbook.rows()], workbook.declared_rows
    finally:
        workbook.close()


def _trimmed(row):
    """openpyxl pads every row to the sheet's width; ours end at their last cell."""
    values = list(row)
    while values and values[-1] is None:
        values.pop()
    return values


def test_every_kind_of_cell_reads_as_openpyxl_reads_it(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["NIK", "Nama", "Lahir", "HP", "Desimal", "Benar", "Persetujuan"])
    sheet.append(["1704010502850002", "Dar'mawan Ünal", dt.datetime(1985, 2, 5), 81234567890, 1.5, True,
                  dt.datetime(2026, 11, 20, 9, 30)])  # fmt: skip
    sheet.append([None, None, dt.date(2026, 12, 1)])
    sheet["B6"] = "after two missing rows"
    sheet["E6"] = "=1+1"  # a formula without a cached value
    sheet["G7"] = dt.time(10, 30)
    sheet["A8"] = dt.timedelta(hours=30)
    sheet["C9"] = "  spaces kept  "
    workbook.create_sheet("Kedua")["A1"] = "not the first sheet"
    path = tmp_path / "mixed.xlsx"
    workbook.save(path)

    rows, declared = our_rows(path)

    assert rows == openpyxl_rows(path)
    assert rows[1] == ["1704010502850002", "Dar'mawan Ünal", dt.datetime(1985, 2, 5), 81234567890, 1.5, True,
                       dt.datetime(2026, 11, 20, 9, 30)]  # fmt: skip
    assert rows[3:5] == [[], []]  # rows 4 and 5 are not in the file
    assert (rows[6], rows[7]) == ([None] * 6 + [dt.time(10, 30)], [dt.timedelta(hours=30)])
    assert declared == 9


# A workbook as Excel writes one: shared strings (one with rich-text runs and a phonetic guide),
# cells and rows without references, a cached formula value, an error, a 1904 date epoch.
WORKBOOK = """<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<workbookPr date1904="1"/><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"""
RELS = """<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
 Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
 Target="sharedStrings.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
 Target="styles.xml"/></Relationships>"""
PACKAGE_RELS = """<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
 Target="xl/workbook.xml"/></Relationships>"""
CONTENT_TYPES = """<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
<Override PartName="/xl/styles.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"""
STYLES = """<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>
<fonts count="1"><font/></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders>
<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>
<cellXfs count="2"><xf numFmtId="0" xfId="0"/><xf numFmtId="164" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""
STRINGS = """<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4">
<si><t>NIK</t></si><si><t>Nama Lengkap</t></si>
<si><r><rPr><b/></rPr><t>Siti </t></r><r><t>Aminah</t></r><rPh sb="0" eb="1"><t>x</t></rPh></si>
<si><t>snake_x005F_case</t></si></sst>"""
SHEET = """<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<dimension ref="A1:D3"/><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>
<row><c t="str"><v>1704014101900001</v></c><c t="s"><v>2</v></c><c s="1"><v>31000</v></c><c t="e"><v>#N/A</v></c></row>
<row r="3"><c r="D3" t="s"><v>3</v></c><c r="B3"><v>12</v></c></row>
</sheetData></worksheet>"""


def excel_like(path, sheet=SHEET):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", PACKAGE_RELS),
                           ("xl/workbook.xml", WORKBOOK), ("xl/_rels/workbook.xml.rels", RELS),
                           ("xl/styles.xml", STYLES), ("xl/sharedStrings.xml", STRINGS),
                           ("xl/worksheets/sheet1.xml", sheet)):  # fmt: skip
            archive.writestr(name, text)
    return path


def test_an_excel_workbook_with_shared_strings_reads_as_openpyxl_reads_it(tmp_path):
    path = excel_like(tmp_path / "excel.xlsx")

    rows, declared = our_rows(path)

    assert rows == openpyxl_rows(path)
    assert rows == [
        ["NIK", "Nama Lengkap"],
        ["1704014101900001", "Siti Aminah", dt.datetime(1988, 11, 15), "#N/A"],
        [None, 12, None, "snake_case"],
    ]
    assert declared == 3


def test_the_import_sheet_has_the_header_the_rows_and_the_declared_size(tmp_path):
    with open_sheet(excel_like(tmp_path / "excel.xlsx"), "xlsx") as sheet:
        rows = list(sheet.rows)

    assert (sheet.header, sheet.total_rows) == (["NIK", "Nama Lengkap"], 2)
    assert rows[1] == [None, 12, None, "snake_case"]


def empty_zip():
    buffer = io.BytesIO()
    zipfile.ZipFile(buffer, "w").close()
    return buffer.getvalue()


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", empty_zip()])
def test_a_file_that_is_no_workbook_is_refused(tmp_path, content):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)

    with pytest.raises(XlsxError):
        open_workbook(path)
    with pytest.raises(UnreadableFile), open_sheet(path, "xlsx"):
        pass


def test_a_sheet_whose_xml_breaks_off_is_refused_when_read(tmp_path):
    path = excel_like(tmp_path / "cut.xlsx", sheet=SHEET[:300])

    with pytest.raises(UnreadableFile), open_sheet(path, "xlsx") as sheet:
        list(sheet.rows)
