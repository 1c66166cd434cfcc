"""The exact keys of a person, as keyed digests: the ONE place a lookup key is made.

Candidates share a NIK, its first 12 digits (region and birth date: a mistyped serial), a
No. KK or a phone number. Keys are config.pii's keyed blind index (HMAC-SHA256 under
BLIND_INDEX_KEY, one key per purpose), never the identifiers, so the match rows are no
second copy of NIKs (API.md "Privacy"). After a change of BLIND_INDEX_KEY, `manage.py
refresh_match_keys` rewrites the stored keys.
"""

from __future__ import annotations

from config.pii import blind_index

DIGEST_LENGTH = 32  # hex characters (config.pii.BLIND_INDEX_LENGTH)


def digest(value: str, *, purpose: str) -> str:
    """The lookup key of `value` for `purpose` ("" for an empty value: no key): privacy's keyed
    blind index, so "nik", "kk" and "phone" keys equal the workers' own *_bi columns."""
    return blind_index(value, purpose=purpose) if value else ""


def is_nik(value: str) -> bool:
    return len(value) == 16 and value.isascii() and value.isdigit()


def nik_key(nik: str) -> str:
    """The digest of a 16-digit NIK ('' for anything else)."""
    return digest(nik, purpose="nik") if is_nik(nik) else ""


def nik_part_key(nik: str) -> str:
    """The digest of a 16-digit NIK's first 12 digits (region and birth date), or ''."""
    return digest(nik[:12], purpose="nik-region-date") if is_nik(nik) else ""


def kk_key(kk_number: str) -> str:
    return digest(kk_number, purpose="kk") if is_nik(kk_number) else ""


def phone_key(phone: str) -> str:
    return digest(phone, purpose="phone") if phone.startswith("+") else ""
