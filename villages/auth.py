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
    """Counts failed logins, and refuses (429 with Retry-After, the password not even checked):

    - per username and client address: LOGIN_FAILURES_PER_USERNAME failures in a window of
      LOGIN_FAILURE_WINDOW_SECONDS lock that pair until the window ends (someone guessing one
      officer's password from one place);
    - per client address: LOGIN_FAILURES_PER_ADDRESS failures, whatever the usernames, lock the
      address likewise (one place guessing many accounts);
    - per username from anywhere: only a backoff. After LOGIN_USERNAME_BACKOFF_AFTER failures in
      the window each further attempt waits 2, 4, 8 … seconds after the last failure, at most
      LOGIN_USERNAME_BACKOFF_MAX_SECONDS. Anyone could otherwise lock an officer out for the whole
      window by failing five times with their username; now a distributed guess is slowed to a
      crawl and the officer waits a minute at worst.

    A window starts at its first failure. A successful login clears its username's counters, not
    the address's: one office behind one address should not unlock a password-guessing run by
    logging in once.
    """

    def __init__(self, *, username: str, address: str) -> None:
        user_hash = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        self.pair_key = f"login-fail:pair:{user_hash}:{address}"
        self.address_key = f"login-fail:addr:{address}"
        self.user_key = f"login-fail:user:{user_hash}"
        self.counters = [
            (self.pair_key, settings.LOGIN_FAILURES_PER_USERNAME),
            (self.address_key, settings.LOGIN_FAILURES_PER_ADDRESS),
        ]

    def check(self) -> None:
        now = timezone.now().timestamp()
        waits = []
        for key, limit in self.counters:
            count = cache.get(key) or 0
            if count >= limit:
                ends_at = cache.get(key + ":ends") or now + 1
                waits.append(max(1, int(ends_at - now + 0.999)))
        failures = cache.get(self.user_key) or 0
        beyond = failures - settings.LOGIN_USERNAME_BACKOFF_AFTER
        if beyond >= 0:
            delay = min(settings.LOGIN_USERNAME_BACKOFF_MAX_SECONDS, 2 ** (beyond + 1))
            last = cache.get(self.user_key + ":last") or 0
            if now < last + delay:
                waits.append(max(1, int(last + delay - now + 0.999)))
        if waits:
            wait = max(waits)
            LOGIN_FAILURES.labels("throttled").inc()
            raise LoginThrottled(details={"retry_after": wait}, headers={"Retry-After": str(wait)})

    def record_failure(self) -> None:
        LOGIN_FAILURES.labels("invalid_credentials").inc()
        window = settings.LOGIN_FAILURE_WINDOW_SECONDS
        now = timezone.now().timestamp()
        for key in (self.pair_key, self.address_key, self.user_key):
            # add() only sets a missing key, so the first failure fixes the window's end;
            # incr() is atomic on Redis, so parallel guesses are all counted.
            cache.add(key + ":ends", now + window, timeout=window)
            cache.add(key, 0, timeout=window)
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.set(key, 1, timeout=window)
        cache.set(self.user_key + ":last", now, timeout=window)

    def reset_username(self) -> None:
        keys = (self.pair_key, self.user_key)
        cache.delete_many([*keys, *(key + ":ends" for key in keys), self.user_key + ":last"])


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
