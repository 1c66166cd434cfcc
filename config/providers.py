"""Explicit seams between apps: a setting names a provider (a dotted path) that answers a typed
Protocol, and a misconfigured one fails `manage.py check` by name rather than silently doing
nothing. workers.rules (WORKERS_ENROLMENT_RULES) and enrolment.privacy.erasure
(PRIVACY_ERASURE_STEPS) load theirs with `provider`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


def provider(setting: str, path: str, protocol: Any, *, not_one: str) -> Any:
    """The object at `path` (a class is instantiated once), checked against `protocol` (which
    must be runtime_checkable; typed Any since mypy takes no Protocol class for a `type[T]`).
    `not_one` ends the message when it does not answer it."""
    try:
        found = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{setting}: cannot import {path!r} ({exc}).") from exc
    instance = found() if isinstance(found, type) else found
    if not isinstance(instance, protocol):
        raise ImproperlyConfigured(f"{setting}: {path!r} {not_one}.")
    return instance
