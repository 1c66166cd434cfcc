"""Who is calling the OpenRosa endpoints: HTTP Basic or Digest over the officials' accounts,
behind the same failed-login guard as POST /api/v1/auth/login (villages.auth.LoginGuard)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from openrosa import digest
from openrosa.models import DigestCredential
from villages.auth import LoginGuard, client_address
from villages.models import User


class Unauthorized(Exception):
    """401 with a fresh challenge (`stale`: the client's nonce expired, its password was fine)."""

    def __init__(self, *, stale: bool = False) -> None:
        super().__init__("unauthorized")
        self.stale = stale


def authenticate(request: HttpRequest) -> User:
    """The active official the request's credentials name. Raises Unauthorized, or
    villages.auth.LoginThrottled (429) when the username or address failed too often."""
    scheme, _sep, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    address = client_address(request)
    if scheme.lower() == "basic":
        return _basic(credentials.strip(), address)
    if scheme.lower() == "digest" and settings.OPENROSA_DIGEST_ALGORITHM:
        return _digest(request, credentials, address)
    raise Unauthorized()


def _user(username: str) -> User | None:
    try:
        return User._default_manager.get_by_natural_key(username)
    except User.DoesNotExist:
        return None


def _basic(credentials: str, address: str) -> User:
    try:
        username, sep, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized() from None
    if not sep or not username:
        raise Unauthorized()
    guard = LoginGuard(username=username, address=address)
    guard.check()
    user = _user(username)
    if user is None or not user.is_active:
        User().set_password(password)  # the same time as a wrong password: no user enumeration
        guard.record_failure()
        raise Unauthorized()
    # A password hash costs ~0.1-1 s by design, and ODK Collect sends Basic credentials with
    # every request: a verified (user, password, current hash) triple is remembered for a few
    # minutes under a keyed hash, so a password change ends it at once.
    key = hmac.new(
        settings.SECRET_KEY.encode(), f"{user.pk}\0{password}\0{user.password}".encode(), hashlib.sha256
    ).hexdigest()
    if cache.get(f"odk-basic:{key}") is None:
        if not user.check_password(password):
            guard.record_failure()
            raise Unauthorized()
        guard.reset_username()
        cache.set(f"odk-basic:{key}", 1, timeout=settings.OPENROSA_BASIC_CACHE_SECONDS)
    return user


def _digest(request: HttpRequest, credentials: str, address: str) -> User:
    answer = digest.parse_authorization(credentials)
    if answer is None or answer.realm != settings.OPENROSA_REALM:
        raise Unauthorized()
    if answer.uri not in (request.get_full_path(), request.path, request.build_absolute_uri()):
        raise Unauthorized()
    state = digest.nonce_state(answer.nonce)
    if state != "valid":
        raise Unauthorized(stale=state == "stale")
    guard = LoginGuard(username=answer.username, address=address)
    guard.check()
    credential = (
        DigestCredential.objects.select_related("user")
        .filter(user__username=answer.username, realm=answer.realm)
        .first()
    )
    user = credential.user if credential is not None else None
    matches = (
        credential is not None
        and user is not None
        and user.is_active
        and user.has_usable_password()
        and hmac.compare_digest(credential.password_fingerprint, digest.password_fingerprint(user.password))
        and hmac.compare_digest(
            digest.expected_response(
                answer, method=request.method or "", ha1_hex=digest.credential_ha1(credential, answer.algorithm)
            ),
            answer.response,
        )
    )
    if not matches or user is None:
        guard.record_failure()
        raise Unauthorized()
    if not digest.nonce_count_fresh(answer):
        raise Unauthorized(stale=True)
    return user
