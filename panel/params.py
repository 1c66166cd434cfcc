"""Query parameters the panel's pages share."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

YEARS = range(2000, 2101)  # the budget years a form or a link may name (as the targets API's)


def year_param(request: HttpRequest, name: str = "tahun") -> int:
    """The budget year of `?tahun=`: this year when it is absent or not a year in YEARS (a page
    link, not an API: a bad value falls back instead of refusing)."""
    text = request.GET.get(name, "")
    return int(text) if text.isdigit() and int(text) in YEARS else timezone.localdate().year
