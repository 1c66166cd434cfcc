"""panel/params.py: the budget year of a page's `?tahun=` (a link, so a bad value falls back)."""

import datetime as dt

import pytest
from django.test import RequestFactory

from panel.params import year_param


@pytest.mark.parametrize(
    ("query", "expected"),
    [("2026", 2026), ("2000", 2000), ("2100", 2100), ("1999", 2031), ("2101", 2031), ("", 2031), ("20x6", 2031)],
)
def test_year_param_takes_a_year_from_2000_to_2100_else_this_year(query, expected, monkeypatch):
    monkeypatch.setattr("panel.params.timezone.localdate", lambda: dt.date(2031, 5, 1))
    request = RequestFactory().get("/panel/laporan/", {"tahun": query} if query else {})

    assert year_param(request) == expected
