"""A database refusal under load in a plain Django view (the panel, /metrics) answers 503 with
Retry-After in the client's format, like the DRF views (config/handlers.py), never a 500."""

from __future__ import annotations

import psycopg.errors
import pytest

from tests.dbrefusal import database_refuses


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("id", "Layanan sedang sibuk. Coba lagi beberapa detik lagi."),
        ("en", "The service is busy. Try again in a few seconds."),
    ],
)
def test_a_panel_page_answers_503_html_when_the_database_refuses_connections(
    client, operator, monkeypatch, settings, language, text
):
    client.force_login(operator)
    with database_refuses(monkeypatch, psycopg.errors.TooManyConnections):
        response = client.get("/panel/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.SERVICE_BUSY_RETRY_AFTER)
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert f"<h1>{text}</h1>" in response.content.decode()


def test_a_refusal_raised_outside_the_view_reaches_handler500_and_is_a_503(rf, settings):
    """Sessions and auth middleware query the database before any view runs; Django then calls
    handler500 inside its except block, which answers the envelope's 503 for a refusal."""
    from django.db import OperationalError

    from config.handlers import server_error

    request = rf.get("/healthz", HTTP_ACCEPT_LANGUAGE="en")
    try:
        try:
            raise psycopg.errors.TooManyConnections("sorry, too many clients already")
        except psycopg.errors.Error as driver_error:
            raise OperationalError(str(driver_error)) from driver_error
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.SERVICE_BUSY_RETRY_AFTER)
    assert response["Content-Type"] == "application/json"
