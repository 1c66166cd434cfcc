"""How the operations console (and the panel) shows values: rupiah, programs, JSON fields.

One home for these so the admin and the panel say `Rp 16.800` the same way, and so every JSON
field the admin shows (heirs, errors, request bodies, the sync quarantine's records) goes through
the same masking: a NIK or No. KK as `villages.audit.mask_nik` shows it, a phone as `mask_phone`,
wherever in the structure they are, and any run of 16 digits or phone number inside free text too
(an error message may quote what was typed). The admin never shows a full NIK.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from config.logmask import mask_text
from villages.audit import mask_nik, mask_phone, redact

NONE = "\u2013"  # an en dash where a value is missing

# Keys whose values are personal data, masked as the API masks them.
NIK_KEYS = frozenset({"nik", "kk_number", "kk", "no_kk", "heir_nik", "worker_nik"})
PHONE_KEYS = frozenset({"phone", "heir_phone", "worker_phone"})
REDACTED_KEYS = frozenset({"mother_maiden_name", "payload"})
_SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


def rupiah(value: Any) -> str:
    """Integer rupiah the Indonesian way: `Rp 16.800` (dots between thousands, no decimals)."""
    if value is None or value == "":
        return NONE
    amount = int(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")


def program_names(codes: Any, labels: Mapping[str, Any]) -> str:
    """`["JKK", "JKM"]` → the programs' names in the active language, one after the other.
    `labels` is the programs' choices (enrolment.models.Program): villages sits below enrolment,
    so the caller hands them in."""
    if not codes:
        return NONE
    items = codes if isinstance(codes, list | tuple) else [codes]
    return ", ".join(str(labels.get(code, code)) for code in items)


def _mask_text(text: str) -> str:
    return mask_text(_SIXTEEN_DIGITS.sub(lambda m: mask_nik(m.group(0)), text))


def mask_value(value: Any, key: str = "") -> Any:
    """`value` (decoded JSON) with every NIK, No. KK and phone masked, at any depth."""
    if isinstance(value, dict):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, key) for v in value]
    if not isinstance(value, str):
        return value
    lowered = key.lower()
    if lowered in REDACTED_KEYS:
        return redact(value)
    if lowered in NIK_KEYS:
        return mask_nik(value)
    if lowered in PHONE_KEYS:
        return mask_phone(value)
    stripped = value.strip()
    if stripped[:1] in ("[", "{"):  # JSON kept as a string (a pushed record's heirs)
        try:
            decoded = json.loads(stripped)
        except ValueError:
            pass
        else:
            return json.dumps(mask_value(decoded, key), ensure_ascii=False)
    return _mask_text(value)


def masked_json(value: Any) -> SafeString | str:
    """A JSON field for the admin: masked, indented, in a <pre> block; a dash when empty."""
    if value in (None, "", [], {}):
        return NONE
    text = json.dumps(mask_value(value), ensure_ascii=False, indent=2, sort_keys=False, default=str)
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


def masked_json_short(value: Any, limit: int = 120) -> str:
    """The same, on one line and cut to `limit` characters: for a changelist column."""
    if value in (None, "", [], {}):
        return NONE
    text = json.dumps(mask_value(value), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
