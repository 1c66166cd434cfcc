"""Per-device token authentication and the failed-login guard."""

from __future__ import annotations

import hashlib
from hmac import compare_digest
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from config.errors import ServiceError
from config.metrics import LOGIN_FAILURES
from villages.models import Device, DeviceToken, User

APP_VERSION_HEADER = "HTTP_X_APP_VERSION"


class DeviceTokenAuthentication(TokenAuthentication):
    """knox's hashed tokens, looked up with their device in one query.

    knox's own `authenticate_credentials` walks every other token of the user on each request
    to purge expired ones (a query per token); here an expired token is refused and deleted
    when it is presented, and nothing else is touched.
    """

    def authenticate_credentials(self, token: bytes) -> tuple[User, DeviceToken]:
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed() from exc
        digest = hash_token(text)
        candidates = DeviceToken.objects.filter(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related(
            "user", "device"
        )
        for auth_token in candidates:
            if not compare_digest(digest, auth_token.digest):
                continue
            if auth_token.expiry is not None and auth_token.expiry <= timezone.now():
                auth_token.delete()
                raise exceptions.AuthenticationFailed(_("The token has expired. Log in again."))
            if not auth_token.user.is_active:
                raise exceptions.AuthenticationFailed()
            return auth_token.user, auth_token
        raise exceptions.AuthenticationFailed()

    def authenticate(self, request: Request) -> tuple[User, DeviceToken] | None:
        result = super().authenticate(request)
        if result is not None:
            device_touch(device=result[1].device, app_version=request.META.get(APP_VERSION_HEADER, ""))
        return result


def device_touch(*, device: Device, app_version: str) -> None:
    """Records that a device was seen, at most once per DEVICE_SEEN_WRITE_INTERVAL.

    A write per request would double the cost of every read; the panel only needs minutes.
    """
    now = timezone.now()
    app_version = app_version[:32]
    stale = device.last_seen_at is None or now - device.last_seen_at >= settings.DEVICE_SEEN_WRITE_INTERVAL
    if stale or (app_version and app_version != device.app_version):
        changes: dict[str, Any] = {"last_seen_at": now}
        if app_version:
            changes["app_version"] = app_version
        Device.objects.filter(pk=device.pk).update(**changes)
        for field, value in changes.items():
            setattr(device, field, value)


class LoginThrottled(ServiceError):
    code = "login_throttled"
    status_code = 429
    default_message = _("Too many failed logins. Wait before trying again.")


class LoginGuard:
    """Counts failed logins per username and per client address in fixed windows.

    The window starts at the first failure and lasts LOGIN_FAILURE_WINDOW_SECONDS; once a
    counter reaches its limit, logins for that username (or from that address) are refused with
    429 and Retry-After until the window ends, without the password being checked at all. A
    successful login clears the username's counter, not the address's: one office behind one
    address should not unlock a password-guessing run by logging in once.
    """

    def __init__(self, *, username: str, address: str) -> None:
        user_hash = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        self.counters = [
            (f"login-fail:user:{user_hash}", settings.LOGIN_FAILURES_PER_USERNAME),
            (f"login-fail:addr:{address}", settings.LOGIN_FAILURES_PER_ADDRESS),
        ]

    def check(self) -> None:
        now = timezone.now().timestamp()
        waits = []
        for key, limit in self.counters:
            count = cache.get(key) or 0
            if count >= limit:
                ends_at = cache.get(key + ":ends") or now + 1
                waits.append(max(1, int(ends_at - now + 0.999)))
        if waits:
            wait = max(waits)
            LOGIN_FAILURES.labels("throttled").inc()
            raise LoginThrottled(details={"retry_after": wait}, headers={"Retry-After": str(wait)})

    def record_failure(self) -> None:
        LOGIN_FAILURES.labels("invalid_credentials").inc()
        window = settings.LOGIN_FAILURE_WINDOW_SECONDS
        ends_at = timezone.now().timestamp() + window
        for key, _limit in self.counters:
            # add() only sets a missing key, so the first failure fixes the window's end;
            # incr() is atomic on Redis, so parallel guesses are all counted.
            cache.add(key + ":ends", ends_at, timeout=window)
            cache.add(key, 0, timeout=window)
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.set(key, 1, timeout=window)

    def reset_username(self) -> None:
        key = self.counters[0][0]
        cache.delete_many([key, key + ":ends"])


def client_address(request: HttpRequest | Request) -> str:
    """The client's address, honouring NUM_PROXIES the same way DRF's throttles do (the admin
    passes Django's own request: DRF's wraps it and reads the same META)."""
    return BaseThrottle().get_ident(request if isinstance(request, Request) else Request(request))


def official(request: HttpRequest | Request) -> User:
    """The signed-in official making the request, for views whose permissions admit only
    officials. An anonymous request that got that far anyway is 401, never an AttributeError."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
