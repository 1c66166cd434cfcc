"""The import layout: the columns a village office keeps, and how a row becomes API records.

One row is one person and, when `Sumber Dana` is filled, their enrolment. Headers are matched
without regard to case, spaces or punctuation ("Tanggal Lahir", "tanggal_lahir", "TANGGAL LAHIR"),
and the English API field names are accepted too; other columns are ignored (so an export, with
its status columns, can be edited and imported again). Values are what people type in a
spreadsheet: `L`/`P`, dates as `31-12-1990`, `31/12/1990`, `1990-12-31` or a date cell, money as
`1.500.000`, occupations and funding sources by code or by name.

Stable ids (re-importing a file creates nothing new): a row's person is
  1. the `ID` column when it is filled (an exported file carries it), else
  2. the live worker in the importer's areas who already holds the row's NIK, else
  3. `imp-` + the first 24 hex digits of the keyed blind index of "<village code>:<NIK>".
Its enrolment is the person's live enrolment when they have one, else
`impe-` + 24 hex digits of sha256("<worker id>:<budget year>").
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from config.pii import blind_index
from workers.nik import normalise_nik


@dataclass(frozen=True)
class Column:
    header: str  # as the template prints it (Indonesian)
    target: str  # "worker.<field>" or "enrolment.<field>", dotted for nested API fields
    required: bool = False
    help: str = ""  # Indonesian, for the template's instructions sheet
    example: str = ""
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("ID", "worker.id", help="Kosongkan untuk data baru. Terisi pada file hasil ekspor; jangan diubah.",
           aliases=("worker_id", "id_pekerja")),
    Column("NIK", "worker.nik", True, "16 digit, format sel Teks (agar Excel tidak membulatkan). Kosongkan bila "
           "belum punya NIK: pendaftarannya menunggu NIK.", "1704014101900001"),
    Column("No KK", "worker.kk_number", help="Nomor Kartu Keluarga, 16 digit (boleh kosong).",
           example="1704010101900001", aliases=("kk", "nomor_kk", "kk_number")),
    Column("Nama Lengkap", "worker.full_name", True, "Sesuai KTP; satu kata juga boleh.", "Siti Aminah",
           aliases=("nama", "full_name")),
    Column("Jenis Kelamin", "worker.sex", True, "L (laki-laki) atau P (perempuan).", "P",
           aliases=("jk", "sex", "l_p")),
    Column("Tempat Lahir", "worker.birth_place", example="Kaur", aliases=("birth_place",)),
    Column("Tanggal Lahir", "worker.birth_date", True, "DD-MM-YYYY, DD/MM/YYYY, YYYY-MM-DD atau sel tanggal.",
           "01-01-1990", aliases=("tgl_lahir", "birth_date")),
    Column("No HP", "worker.phone", help="Contoh 0812 3456 7890.", example="081234567890",
           aliases=("hp", "telepon", "no_telepon", "phone")),
    Column("Kode Desa", "worker.village", True, "Kode Kemendagri desa/kelurahan, mis. 17.04.01.2001.",
           "17.04.01.2001", aliases=("kode_wilayah", "village")),
    Column("Alamat", "worker.address.street", example="Jl. Pantai Linau", aliases=("jalan", "street")),
    Column("Dusun", "worker.address.dusun", example="Dusun I", aliases=("dusun_lingkungan", "dusun")),
    Column("RT", "worker.address.rt", example="001", aliases=("rt",)),
    Column("RW", "worker.address.rw", example="002", aliases=("rw",)),
    Column("Pekerjaan", "worker.occupation", True, "Kode atau nama pekerjaan (lihat lembar Kode).", "nelayan",
           aliases=("occupation",)),
    Column("No KUSUKA", "worker.kusuka_number", help="Kartu Pelaku Usaha Kelautan dan Perikanan (nelayan).",
           aliases=("kusuka", "kusuka_number")),
    Column("Penghasilan per Bulan", "worker.monthly_income", help="Rupiah, angka saja (1500000 atau 1.500.000).",
           example="1500000", aliases=("penghasilan", "monthly_income")),
    Column("Nama Ibu Kandung", "worker.mother_maiden_name", example="Fatimah", aliases=("mother_maiden_name",)),
    Column("Nama Ahli Waris", "worker.heirs.0.name", example="Rahmat", aliases=("ahli_waris",)),
    Column("Hubungan Ahli Waris", "worker.heirs.0.relationship",
           help="suami/istri, anak, orang tua, saudara atau lainnya.", example="anak"),
    Column("NIK Ahli Waris", "worker.heirs.0.nik", help="16 digit (boleh kosong)."),
    Column("No HP Ahli Waris", "worker.heirs.0.phone"),
    Column("Tanggal Persetujuan", "worker.consent.given_at",
           help="Tanggal peserta menyetujui pendaftaran (wajib sebelum diajukan).", example="20-11-2026",
           aliases=("tgl_persetujuan", "consent_given_at")),
    Column("Cara Persetujuan", "worker.consent.method", help="tanda tangan, cap jempol atau lisan.",
           example="tanda tangan", aliases=("consent_method",)),
    Column("Sumber Dana", "enrolment.funding_source",
           help="Kode atau nama sumber dana (lihat lembar Kode). Kosong: hanya data pekerja yang disimpan.",
           example="apbd_kabupaten", aliases=("funding_source", "pendanaan")),
    Column("Tahun Anggaran", "enrolment.budget_year", help="Kosong: tahun mulai kepesertaan.", example="2026",
           aliases=("budget_year",)),
    Column("SK Pendanaan", "enrolment.funding_decree", help="Nomor keputusan yang membiayai iuran.",
           aliases=("funding_decree", "sk")),
    Column("Mulai Kepesertaan", "enrolment.coverage_start", help="Tanggal mulai perlindungan.", example="01-12-2026",
           aliases=("coverage_start", "tanggal_mulai")),
    Column("Program", "enrolment.programs", help="JKK, JKM (wajib) dan JHT (pilihan). Kosong: JKK, JKM.",
           example="JKK, JKM", aliases=("programs",)),
    Column("Masa Bayar (Bulan)", "enrolment.payment_period_months", help="1, 3, 6 atau 12. Kosong: 1.",
           example="1", aliases=("masa_bayar", "payment_period_months")),
    Column("Ajukan", "enrolment.status", help="Ya: langsung diajukan untuk verifikasi. Kosong/Tidak: draf.",
           example="Ya", aliases=("diajukan", "status_pengajuan")),
)  # fmt: skip

HEADERS = tuple(column.header for column in COLUMNS)
REQUIRED_TARGETS = tuple(column.target for column in COLUMNS if column.required)


def header_key(text: Any) -> str:
    """`Tanggal Lahir`, `tanggal_lahir`, ` TANGGAL-LAHIR ` → `tanggal_lahir`."""
    return re.sub(r"[^0-9a-z]+", "_", str(text or "").casefold()).strip("_")


_BY_KEY: dict[str, Column] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases, _column.target.split(".", 1)[1]):
        _BY_KEY.setdefault(header_key(_name), _column)


@dataclass(frozen=True)
class HeaderMap:
    """Which position of the file holds which column."""

    positions: dict[str, int]  # target → index in the row
    headers: dict[str, str]  # target → the header as written in the file (for error messages)
    ignored: list[str]
    missing: list[str]  # headers of required columns that are absent
    repeated: list[str]


def map_headers(row: Sequence[Any]) -> HeaderMap:
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    repeated: list[str] = []
    for index, raw in enumerate(row):
        text = str(raw).strip() if raw is not None else ""
        if not text:
            continue
        column = _BY_KEY.get(header_key(text))
        if column is None:
            ignored.append(text)
        elif column.target in positions:
            repeated.append(text)
        else:
            positions[column.target] = index
            headers[column.target] = text
    missing = [c.header for c in COLUMNS if c.required and c.target not in positions]
    return HeaderMap(positions=positions, headers=headers, ignored=ignored, missing=missing, repeated=repeated)


# --- values as typed in a spreadsheet ---------------------------------------------------------------

_SEX = {"l": "M", "laki_laki": "M", "lk": "M", "pria": "M", "m": "M", "male": "M",
        "p": "F", "perempuan": "F", "pr": "F", "wanita": "F", "w": "F", "f": "F", "female": "F"}  # fmt: skip
_CONSENT = {"tanda_tangan": "signature", "ttd": "signature", "signature": "signature",
            "cap_jempol": "thumbprint", "sidik_jari": "thumbprint", "cap_jari": "thumbprint",
            "thumbprint": "thumbprint", "lisan": "verbal", "verbal": "verbal"}  # fmt: skip
_RELATIONSHIP = {"suami": "spouse", "istri": "spouse", "suami_istri": "spouse", "pasangan": "spouse",
                 "spouse": "spouse", "anak": "child", "child": "child", "orang_tua": "parent", "ayah": "parent",
                 "ibu": "parent", "parent": "parent", "saudara": "sibling", "kakak": "sibling", "adik": "sibling",
                 "sibling": "sibling", "lainnya": "other", "lain_lain": "other", "other": "other"}  # fmt: skip
_YES = {"ya", "y", "yes", "1", "true", "ajukan", "diajukan"}
_NO = {"", "tidak", "t", "no", "n", "0", "false", "draf", "draft"}
_DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_MONEY_NOISE = re.compile(r"(?i)rp\.?|[\s.,]")


class CellError(Exception):
    """A value the layout cannot read (the message names what to type instead)."""

    def __init__(self, message: Promise | str) -> None:
        super().__init__(str(message))
        self.message = message


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number cell (phone, RT) read back as 12.0
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    result = str(value).strip()
    return result or None


def digits_text(value: Any) -> str | None:
    """NIK and KK: a number cell gives digits; a text cell keeps what was typed (separators are
    stripped by the NIK rules)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return str(int(value))
    return text(value)


def date_value(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raw = str(value).strip()
    if not raw:
        return None
    match = _DMY.fullmatch(raw) or _YMD.fullmatch(raw.split("T")[0].split(" ")[0])
    if match is None:
        raise CellError(_("Write the date as DD-MM-YYYY (e.g. 31-12-1990) or YYYY-MM-DD."))
    parts = [int(p) for p in match.groups()]
    day, month, year = parts if match.re is _DMY else (parts[2], parts[1], parts[0])
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        raise CellError(_("This date does not exist.")) from None


_DMY_TIME = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})[ T](\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?")


def consent_time(value: Any) -> str | None:
    """A consent date, or date and time (as exports write it), as an ISO time in Asia/Jakarta."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat() + "+07:00"
    match = _DMY_TIME.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if match:
        day, month, year, hour, minute, second = (int(p or 0) for p in match.groups())
        try:
            return dt.datetime(year, month, day, hour, minute, second).isoformat() + "+07:00"
        except ValueError:
            raise CellError(_("This date does not exist.")) from None
    day_text = date_value(value)
    return f"{day_text}T00:00:00+07:00" if day_text else None


def overlay(stored: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A stored record (in API input shape) with the row's filled cells over it.

    An empty cell never erases what is stored: an import fills in and corrects, it does not
    blank fields whose columns a file lacks or leaves empty. The row's heir replaces the first
    stored heir; other heirs stay.
    """
    out = dict(stored)
    for key, value in row.items():
        if value is None or value == "" or value == []:
            continue
        if key == "heirs":
            heirs = list(stored.get("heirs") or [])
            first = {k: v for k, v in value[0].items() if v not in (None, "")}
            out["heirs"] = [{**(heirs[0] if heirs else {}), **first}, *heirs[1:]]
        elif isinstance(value, dict) and isinstance(stored.get(key), dict):
            out[key] = {**stored[key], **{k: v for k, v in value.items() if v not in (None, "")}}
        else:
            out[key] = value
    return out


def integer(value: Any, *, money: bool = False) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CellError(_("Write a whole number."))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellError(_("Write a whole number."))
    raw = str(value).strip()
    if money:
        raw = _MONEY_NOISE.sub("", raw)
    if not raw:
        return None
    if not raw.isdigit():
        raise CellError(_("Write a whole number."))
    return int(raw)


@functools.lru_cache(maxsize=4096)
def _value_key(raw: str) -> str:
    return header_key(raw)  # a column holds few distinct values (L/P, occupations): normalise each once


def choice(value: Any, table: Mapping[str, str], message: Promise) -> str | None:
    raw = text(value)
    if raw is None:
        return None
    found = table.get(_value_key(raw))
    if found is None:
        raise CellError(message)
    return found


@dataclass
class CodeTables:
    """Occupations and funding sources by code, Indonesian name or English name (casefolded)."""

    occupations: dict[str, str]
    funding: dict[str, str]

    @classmethod
    def load(cls) -> CodeTables:
        from workers.models import FundingSource, Occupation

        def table(rows: Sequence[tuple[str, str, str]]) -> dict[str, str]:
            out: dict[str, str] = {}
            for code, name, name_en in rows:
                for label in (code, name, name_en):
                    out.setdefault(header_key(label), code)
            return out

        return cls(
            occupations=table(list(Occupation.objects.values_list("code", "name", "name_en"))),
            funding=table(list(FundingSource.objects.values_list("code", "name", "name_en"))),
        )


@dataclass
class ParsedRow:
    """A data row turned into a worker record and (optionally) an enrolment record.

    `errors` holds what the layout itself could not read, by target ("worker.birth_date");
    the records carry None there, and these errors replace whatever cleaning says of the field.
    """

    row_number: int
    worker: dict[str, Any]
    enrolment: dict[str, Any] | None
    errors: dict[str, list[Promise | str]] = field(default_factory=dict)
    explicit_id: bool = False

    @property
    def nik(self) -> str:
        return normalise_nik(self.worker.get("nik") or "")


def _set(record: dict[str, Any], parts: tuple[str, ...], value: Any) -> None:
    """record[a][b]... = value for the path's parts ("heirs", "0", "name"), making the dicts and
    lists on the way (a digit part indexes a list)."""
    node: Any = record
    for index, part in enumerate(parts[:-1]):
        following = parts[index + 1]
        if part.isdigit():
            while len(node) <= int(part):
                node.append({})
            node = node[int(part)]
        else:
            node = node.setdefault(part, [] if following.isdigit() else {})
    node[parts[-1]] = value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _rt_rw(value: Any, codes: CodeTables) -> str | None:
    return f"{int(value):03d}" if isinstance(value, (int, float)) and not isinstance(value, bool) else text(value)


def _programs(value: Any, codes: CodeTables) -> list[str] | None:
    return [p for p in re.split(r"[^A-Za-z]+", str(value).upper()) if p] if not _blank(value) else None


_TEXT_TARGETS = ("worker.full_name", "worker.birth_place", "worker.village", "worker.address.street",
                 "worker.address.dusun", "worker.kusuka_number", "worker.mother_maiden_name",
                 "worker.heirs.0.name", "worker.heirs.0.phone", "worker.phone")  # fmt: skip
# What parse_row reads, in order: (target column, path in the record, converter). Worked out once:
# an 80,418-row file is parsed row by row.
_Step = tuple[str, tuple[str, ...], Any]


def _steps(steps: Sequence[tuple[str, Any]]) -> tuple[_Step, ...]:
    return tuple((target, tuple(target.split(".")[1:]), convert) for target, convert in steps)


_WORKER_STEPS = _steps(
    [
        ("worker.id", lambda v, c: text(v)),
        ("worker.nik", lambda v, c: digits_text(v)),
        ("worker.kk_number", lambda v, c: digits_text(v)),
        *[(target, lambda v, c: text(v)) for target in _TEXT_TARGETS],
        ("worker.address.rt", _rt_rw),
        ("worker.address.rw", _rt_rw),
        ("worker.heirs.0.nik", lambda v, c: digits_text(v)),
        ("worker.sex", lambda v, c: choice(v, _SEX, _("Write L (male) or P (female)."))),
        ("worker.birth_date", lambda v, c: date_value(v)),
        (
            "worker.occupation",
            lambda v, c: choice(v, c.occupations, _("Unknown occupation; use a code or name from the Kode sheet.")),
        ),
        ("worker.monthly_income", lambda v, c: integer(v, money=True)),
        (
            "worker.heirs.0.relationship",
            lambda v, c: choice(v, _RELATIONSHIP, _("Write suami/istri, anak, orang tua, saudara or lainnya.")),
        ),
        ("worker.consent.given_at", lambda v, c: consent_time(v)),
        ("worker.consent.method", lambda v, c: choice(v, _CONSENT, _("Write tanda tangan, cap jempol or lisan."))),
    ]
)
_ENROLMENT_STEPS = _steps(
    [
        (
            "enrolment.funding_source",
            lambda v, c: choice(v, c.funding, _("Unknown funding source; use a code or name from the Kode sheet.")),
        ),
        ("enrolment.budget_year", lambda v, c: integer(v)),
        ("enrolment.funding_decree", lambda v, c: text(v)),
        ("enrolment.coverage_start", lambda v, c: date_value(v)),
        ("enrolment.programs", _programs),
        ("enrolment.payment_period_months", lambda v, c: integer(v)),
        ("enrolment.status", lambda v, c: _submit_flag(v)),
    ]
)


def _checked(value: Any) -> Any:
    """A cell no database can store (a NUL character) or longer than IMPORT_MAX_CELL_CHARS is
    refused: that cell's error, its row invalid, the other rows go on."""
    if isinstance(value, str):
        if "\x00" in value:
            raise CellError(_("The cell holds a NUL character (a damaged file?): retype it."))
        if len(value) > settings.IMPORT_MAX_CELL_CHARS:
            raise CellError(
                _("The cell is too long: at most %(limit)d characters.") % {"limit": settings.IMPORT_MAX_CELL_CHARS}
            )
    return value


def parse_row(row_number: int, row: Sequence[Any], headers: HeaderMap, codes: CodeTables) -> ParsedRow | None:
    """One data row → records. None for an entirely blank row (not a data row)."""
    width = len(row)
    cells = {target: row[index] if index < width else None for target, index in headers.positions.items()}
    if all(_blank(v) for v in cells.values()):
        return None
    worker: dict[str, Any] = {}
    enrolment: dict[str, Any] = {}
    errors: dict[str, list[Promise | str]] = {}

    for target, parts, convert in _WORKER_STEPS:
        if target in cells:
            try:
                value = convert(_checked(cells[target]), codes)
            except CellError as problem:
                errors.setdefault(target, []).append(problem.message)
                value = None
            _set(worker, parts, value)

    # Heirs and consent: absent when their columns are empty, so an empty heir is not an error.
    heirs = worker.get("heirs")
    if heirs is not None:
        worker["heirs"] = [h for h in heirs if any(v not in (None, "") for v in h.values())]
    consent = worker.get("consent")
    if consent is not None and all(v in (None, "") for v in consent.values()):
        worker["consent"] = None

    # An enrolment when any enrolment column says something (a bare "Tidak" in Ajukan does not).
    wants_enrolment = any(
        not _blank(value) and not (target == "enrolment.status" and header_key(value) in _NO)
        for target, value in cells.items()
        if target.startswith("enrolment.")
    )
    if not wants_enrolment:
        return ParsedRow(row_number, worker, None, errors, explicit_id=bool(worker.get("id")))
    for target, parts, convert in _ENROLMENT_STEPS:
        if target in cells:
            try:
                value = convert(_checked(cells[target]), codes)
            except CellError as problem:
                errors.setdefault(target, []).append(problem.message)
                value = None
            if value is not None:
                _set(enrolment, parts, value)
    return ParsedRow(row_number, worker, enrolment, errors, explicit_id=bool(worker.get("id")))


def _submit_flag(value: Any) -> str:
    raw = (text(value) or "").casefold()
    if raw in _YES:
        return "submitted"
    if raw in _NO:
        return "draft"
    raise CellError(_("Write Ya or Tidak."))


def derived_worker_id(village: str, nik: str) -> str:
    """Keyed (the blind index key), so the id of an imported person never reveals their NIK: an
    unkeyed hash of a village and a NIK is undone by trying every birth date and serial."""
    return "imp-" + blind_index(f"{village}:{nik}", purpose="import-worker-id")[:24]


def derived_enrolment_id(worker_id: str, budget_year: Any) -> str:
    return "impe-" + hashlib.sha256(f"{worker_id}:{budget_year}".encode()).hexdigest()[:24]


def column_for(part: str, field_path: str, headers: HeaderMap) -> str:
    """The file's header for an API field error ("worker", "address.rt" → "RT"), else the field."""
    target = f"{part}.{field_path}"
    if target in headers.headers:
        return headers.headers[target]
    for column in COLUMNS:
        if column.target == target:
            return column.header
    return field_path
