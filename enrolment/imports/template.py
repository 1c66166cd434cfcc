"""The blank import template, in Indonesian: the columns, an instructions sheet, the codes."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from enrolment.imports.layout import COLUMNS, HEADERS
from workers.models import FundingSource, Occupation

TEXT_COLUMNS = {"NIK", "No KK", "NIK Ahli Waris", "No HP", "No HP Ahli Waris", "Kode Desa", "RT", "RW", "ID"}


def template_csv() -> bytes:
    """Header line only, UTF-8 with BOM so Excel opens it with the right characters."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(HEADERS)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    workbook = Workbook(write_only=False)
    data = workbook.create_sheet("Peserta", 0)
    workbook.remove(workbook.worksheets[1])  # the default empty sheet
    data.append(list(HEADERS))
    bold = Font(bold=True)
    for index, column in enumerate(COLUMNS, start=1):
        cell = data.cell(row=1, column=index)
        cell.font = bold
        letter = get_column_letter(index)
        data.column_dimensions[letter].width = max(12, len(column.header) + 4)
        if column.header in TEXT_COLUMNS:
            # Text cells: Excel would otherwise round a 16-digit NIK and drop leading zeros.
            for line in range(2, 1002):
                data.cell(row=line, column=index).number_format = "@"
    data.freeze_panes = "A2"

    guide = workbook.create_sheet("Petunjuk")
    guide.append(["Kolom", "Wajib", "Keterangan", "Contoh"])
    for cell in guide[1]:
        cell.font = bold
    for column in COLUMNS:
        guide.append([column.header, "ya" if column.required else "", column.help, column.example])
    guide.append([])
    guide.append(["Satu baris = satu orang. Baris kosong dilewati. Baris pertama lembar Peserta adalah judul kolom."])
    guide.append(["Mengimpor file yang sama dua kali tidak membuat data ganda: baris yang tidak berubah dilewati."])
    guide.append(
        ["Hasil impor mencantumkan setiap baris: dibuat, diubah, tidak berubah, atau tidak valid beserta alasannya."]
    )
    for letter, width in (("A", 24), ("B", 8), ("C", 90), ("D", 22)):
        guide.column_dimensions[letter].width = width

    codes = workbook.create_sheet("Kode")
    codes.append(["Pekerjaan (kode)", "Nama", "", "Sumber Dana (kode)", "Nama"])
    for cell in codes[1]:
        cell.font = bold
    occupations = list(Occupation.objects.filter(active=True).values_list("code", "name"))
    funding = list(FundingSource.objects.filter(active=True).values_list("code", "name"))
    for index in range(max(len(occupations), len(funding))):
        row: list[Any] = [*(occupations[index] if index < len(occupations) else ("", "")), ""]
        row.extend(funding[index] if index < len(funding) else ("", ""))
        codes.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
