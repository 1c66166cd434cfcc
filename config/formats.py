"""Wire formats shared by every representation."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def iso_datetime(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the project's offset (Asia/Jakarta, +07:00), however the value was stored."""
    return timezone.localtime(value).isoformat() if value is not None else None


def iso_date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def iso_month(value: dt.date | None) -> str | None:
    """A month as the API speaks it (YYYY-MM), from the first day of that month."""
    return value.strftime("%Y-%m") if value is not None else None
