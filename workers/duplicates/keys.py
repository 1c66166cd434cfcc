"""The exact keys of a person, as keyed digests: the ONE place a lookup key is made.

Candidates share a NIK, a NIK half (two NIKs one digit apart agree on one of their halves: the
first 8 digits, region and birth day, or the last 8, birth month and year and serial), a No. KK
or a phone number. Keys are HMAC-SHA256 digests, never the identifiers, so the match-key table
is no second copy of NIKs (API.md "Privacy"). The digest key is derived from SECRET_KEY with a
purpose label; when the privacy module's blind index (config/pii.py) is on main, `digest`
becomes `blind_index(value, purpose=...)` here and nowhere else (then `manage.py
refresh_match_keys` rewrites the stored keys).
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from django.conf import settings

DIGEST_LENGTH = 32  # hex characters: 128 bits, collisions beyond any table this holds


@functools.cache
def _key(purpose: str) -> bytes:
    return hashlib.sha256(f"dq-match-key:{purpose}:{settings.SECRET_KEY}".encode()).digest()


def digest(value: str, *, purpose: str) -> str:
    """The lookup key of `value` for `purpose` ("" for an empty value: no key)."""
    if not value:
        return ""
    return hmac.new(_key(purpose), value.encode(), hashlib.sha256).hexdigest()[:DIGEST_LENGTH]


def is_nik(value: str) -> bool:
    return len(value) == 16 and value.isascii() and value.isdigit()


def nik_keys(nik: str) -> tuple[str, str, str]:
    """(whole, first half, second half) digests of a 16-digit NIK; empty ones otherwise."""
    if not is_nik(nik):
        return "", "", ""
    return digest(nik, purpose="nik"), digest(nik[:8], purpose="nik-head"), digest(nik[8:], purpose="nik-tail")


def kk_key(kk_number: str) -> str:
    return digest(kk_number, purpose="kk") if is_nik(kk_number) else ""


def phone_key(phone: str) -> str:
    return digest(phone, purpose="phone") if phone.startswith("+") else ""
