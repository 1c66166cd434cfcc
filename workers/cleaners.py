"""Field cleaners every table's validation shares (workers/validation.py, enrolment/validation.py):
a record's id and version, text, names, dates, times, phone numbers and money, each returning
(value, error message or None) so that a record collects all its errors instead of stopping at
the first; and the hash of a record's cleaned values (idempotency: same id, same data)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import phonenumbers
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from villages.records import CLIENT_ID

CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
LETTER = re.compile(r"[^\W\d_]")  # any script's letters
DIGIT = re.compile(r"\d")
# Indonesian mobile numbers, by phonenumbers' own metadata: the common case is checked with one
# regex instead of a full parse (a third of the bulk path's time); anything else is parsed.
_ID_METADATA = phonenumbers.PhoneMetadata.metadata_for_region("ID")
if _ID_METADATA is None or _ID_METADATA.mobile is None or not _ID_METADATA.mobile.national_number_pattern:
    raise ImportError("phonenumbers has no metadata for Indonesian mobile numbers")
ID_MOBILE = re.compile(_ID_METADATA.mobile.national_number_pattern, re.ASCII)
PHONE_SEPARATORS = re.compile(r"[\s().\-]")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# One encoder for every hash: json.dumps with these options builds a new encoder per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, default=str, separators=(",", ":"), ensure_ascii=False)


def values_hash(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(_CANONICAL.encode(values).encode()).hexdigest()


def new_client_id() -> str:
    return uuid.uuid4().hex


class RecordHead(Protocol):
    """What every cleaned client record has (CleanedWorker, enrolment.validation.CleanedEnrolment)."""

    id: str
    version: int | None

    def add_error(self, name: str, message: Any, code: str = "invalid") -> None: ...


def clean_id_and_version(cleaned: RecordHead, data: Mapping[str, Any], record_id: str | None) -> None:
    """A record's id (given in the URL as `record_id`, else in the body; none: a new one) and the
    version it was based on (If-Match in the body), each checked the same for every table."""
    raw_id = record_id if record_id is not None else data.get("id")
    cleaned.id = raw_id if isinstance(raw_id, str) else ""
    if raw_id in (None, ""):
        cleaned.id = new_client_id()
    elif not isinstance(raw_id, str) or not CLIENT_ID.fullmatch(raw_id):
        cleaned.add_error("id", _("Use 1-64 letters, digits, '-' or '_'."))
    version = data.get("version")
    if version is not None:
        if isinstance(version, int) and not isinstance(version, bool) and version >= 1:
            cleaned.version = version
        else:
            cleaned.add_error("version", _("The version is a whole number from 1."))


# --- field cleaners: each returns (value, error message or None) -------------------------------


def clean_text(value: Any, max_length: int, *, required: bool = False) -> tuple[str, Promise | str | None]:
    if value is None:
        value = ""
    if not isinstance(value, str):
        return "", _("Enter text.")
    text = value.strip()
    # isprintable() is False for every control character (and for some harmless ones, which the
    # regex then lets through): the common case skips the regex.
    if not text.isprintable() and CONTROL_CHARS.search(text):
        return text[:max_length], _("Remove control characters.")
    if required and not text:
        return "", _("This field is required.")
    if len(text) > max_length:
        return text[:max_length], _("Use at most %(n)d characters.") % {"n": max_length}
    return text, None


def clean_full_name(value: Any) -> tuple[str, Promise | str | None]:
    """Names stay as typed (trimmed): one word is normal, apostrophes and any script are fine."""
    name, error = clean_text(value, 150, required=True)
    if error:
        return name, error
    if not LETTER.search(name):
        return name, _("A name needs at least one letter.")
    if DIGIT.search(name):
        return name, _("A name has no digits (is this the NIK?).")
    return name, None


def clean_date(value: Any, *, required: bool = False) -> tuple[dt.date | None, Promise | str | None]:
    if value in (None, ""):
        return None, _("This field is required.") if required else None
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        return None, _("Use the date format YYYY-MM-DD.")
    try:
        return dt.date.fromisoformat(value), None
    except ValueError:
        return None, _("This date does not exist.")


def clean_phone(value: Any) -> tuple[str, Promise | str | None]:
    """Indonesian numbers as typed (0812…, +62 812…, 62812…) → E.164."""
    if value in (None, ""):
        return "", None
    if not isinstance(value, str):
        return "", _("Enter the phone number as text.")
    raw = value.strip()
    compact = PHONE_SEPARATORS.sub("", raw)
    national = (
        compact[1:]
        if compact.startswith("0")
        else compact[3:]
        if compact.startswith("+62")
        else compact[2:]
        if compact.startswith("62")
        else None
    )
    if national is not None and ID_MOBILE.fullmatch(national):
        return "+62" + national, None
    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException:
        return raw[:20], _("Enter a phone number such as 0812 3456 7890.")
    if not phonenumbers.is_valid_number(number):
        return raw[:20], _("Enter a phone number such as 0812 3456 7890.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def clean_money(value: Any) -> tuple[int | None, Promise | str | None]:
    if value in (None, ""):
        return None, None
    if isinstance(value, bool):
        return None, _("Enter a whole number of rupiah.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        return None, _("Enter a whole number of rupiah.")
    if not 0 <= value <= 10**12:
        return None, _("Enter an amount between 0 and 1,000,000,000,000.")
    return value, None


EARLIEST_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST_TIME = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
BAD_TIME = _("Use an ISO 8601 time such as 2026-11-21T09:30:00+07:00.")


def clean_datetime(value: Any) -> tuple[dt.datetime | None, Promise | str | None]:
    """An ISO 8601 time, or milliseconds since the epoch (WatermelonDB stores dates so),
    between 2000 and 2100: anything else is an error, never an overflow."""
    if value in (None, ""):
        return None, None
    bad = BAD_TIME
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not EARLIEST_TIME.timestamp() * 1000 <= value < LATEST_TIME.timestamp() * 1000:
                return None, bad
            parsed = dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        elif isinstance(value, str) and len(value) <= 40:
            parsed = dt.datetime.fromisoformat(value)
            if parsed.utcoffset() is None:  # naive: the project's time zone
                parsed = timezone.make_aware(parsed)
            # Any year strictly between is inside whatever the offset; comparing aware times
            # across zones costs more than the parsing.
            if not 2000 < parsed.year < 2099 and not EARLIEST_TIME <= parsed < LATEST_TIME:
                return None, bad
        else:
            return None, bad
    except (ValueError, OverflowError, OSError):
        return None, bad
    return parsed, None
