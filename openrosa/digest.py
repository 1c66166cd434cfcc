"""HTTP Digest (RFC 7616, qop=auth, MD5 or SHA-256) for the OpenRosa endpoints.

The server never keeps passwords, so Digest works from the password equivalent
H(username:realm:password), computed when the password is set (`DigestCredentialKeeper`, a
password validator: Django calls every validator's `password_changed` when a user with a new
password is saved). Nonces are stateless: the issue time and an HMAC of it under the server's
secret, valid for OPENROSA_DIGEST_NONCE_SECONDS; a (nonce, nc) pair is accepted once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from openrosa.models import DigestCredential

ALGORITHMS: dict[str, Callable[[bytes], Any]] = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,]*)\s*(?:,|$)')


def _h(algorithm: str, text: str) -> str:
    return str(ALGORITHMS[algorithm](text.encode("utf-8")).hexdigest())


def ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    return _h(algorithm, f"{username}:{realm}:{password}")


def password_fingerprint(encoded_password: str) -> str:
    return hashlib.sha256(encoded_password.encode()).hexdigest()


def credential_store(user: Any, password: str) -> None:
    realm = settings.OPENROSA_REALM
    DigestCredential.objects.update_or_create(
        user=user,
        defaults={
            "realm": realm,
            "ha1_md5": ha1("MD5", user.get_username(), realm, password),
            "ha1_sha256": ha1("SHA-256", user.get_username(), realm, password),
            "password_fingerprint": password_fingerprint(user.password),
        },
    )


class DigestCredentialKeeper:
    """Listed in AUTH_PASSWORD_VALIDATORS for its `password_changed` hook; validates nothing."""

    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None and user.pk is not None:
            credential_store(user, password)

    def get_help_text(self) -> str:
        return ""


# --- nonces -----------------------------------------------------------------------------------


def _nonce_mac(issued: bytes) -> bytes:
    key = hashlib.sha256(b"openrosa-digest-nonce:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, issued + settings.OPENROSA_REALM.encode(), hashlib.sha256).digest()[:16]


def nonce_new(now: float | None = None) -> str:
    issued = struct.pack(">Q", int((now if now is not None else time.time()) * 1000))
    return base64.urlsafe_b64encode(issued + _nonce_mac(issued)).decode().rstrip("=")


def nonce_state(nonce: str, now: float | None = None) -> str:
    """`valid`, `stale` (ours, expired) or `invalid`."""
    try:
        raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
    except (ValueError, TypeError):
        return "invalid"
    if len(raw) != 24 or not hmac.compare_digest(raw[8:], _nonce_mac(raw[:8])):
        return "invalid"
    issued = struct.unpack(">Q", raw[:8])[0] / 1000
    age = (now if now is not None else time.time()) - issued
    return "valid" if -60 <= age <= settings.OPENROSA_DIGEST_NONCE_SECONDS else "stale"


def challenge(*, stale: bool = False) -> str:
    """The WWW-Authenticate value: one Digest challenge (clients such as okhttp-digest read only
    the first), then Basic."""
    realm = settings.OPENROSA_REALM
    parts = []
    if settings.OPENROSA_DIGEST_ALGORITHM:
        parts.append(
            f'Digest realm="{realm}", qop="auth", algorithm={settings.OPENROSA_DIGEST_ALGORITHM}, '
            f'nonce="{nonce_new()}", opaque="{hashlib.sha256(realm.encode()).hexdigest()[:32]}"'
            + (", stale=true" if stale else "")
        )
    parts.append(f'Basic realm="{realm}", charset="UTF-8"')
    return ", ".join(parts)


# --- checking a response ------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestResponse:
    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str
    qop: str
    nc: str
    cnonce: str


def parse_authorization(value: str) -> DigestResponse | None:
    """The `Digest ...` Authorization header's parameters, or None when malformed or asking for
    what this server does not do (userhash, auth-int, -sess algorithms)."""
    params: dict[str, str] = {}
    position = 0
    while position < len(value):
        match = _PARAM.match(value, position)
        if match is None or match.end() == position:
            return None
        name = match.group(1).lower()
        params[name] = re.sub(r"\\(.)", r"\1", match.group(3)) if match.group(3) is not None else match.group(2)
        position = match.end()
    algorithm = params.get("algorithm", "MD5").upper()
    if algorithm not in ALGORITHMS or params.get("qop") != "auth" or params.get("userhash", "false") != "false":
        return None
    try:
        return DigestResponse(
            username=params["username"],
            realm=params["realm"],
            nonce=params["nonce"],
            uri=params["uri"],
            response=params["response"].lower(),
            algorithm=algorithm,
            qop="auth",
            nc=params["nc"],
            cnonce=params["cnonce"],
        )
    except KeyError:
        return None


def expected_response(answer: DigestResponse, *, method: str, ha1_hex: str) -> str:
    ha2 = _h(answer.algorithm, f"{method}:{answer.uri}")
    return _h(answer.algorithm, f"{ha1_hex}:{answer.nonce}:{answer.nc}:{answer.cnonce}:{answer.qop}:{ha2}")


def credential_ha1(credential: DigestCredential, algorithm: str) -> str:
    return credential.ha1_sha256 if algorithm == "SHA-256" else credential.ha1_md5


def nonce_count_fresh(answer: DigestResponse) -> bool:
    """Each (nonce, nc) is accepted once: a captured request cannot be replayed."""
    key = "odk-nc:" + hashlib.sha256(f"{answer.nonce}:{answer.nc}:{answer.cnonce}".encode()).hexdigest()[:40]
    return bool(cache.add(key, 1, timeout=settings.OPENROSA_DIGEST_NONCE_SECONDS + 60))
