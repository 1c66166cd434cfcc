"""ODK Collect gets a retryable 503 OpenRosaResponse, not a 500, when the database refuses."""

from __future__ import annotations

import psycopg.errors

from tests.dbrefusal import database_refuses
from tests.factories import PASSWORD
from tests.openrosa.helpers import collect_client


def test_form_list_answers_503_openrosa_xml_on_a_lock_timeout(officer, monkeypatch, settings):
    with (
        collect_client(officer.username, PASSWORD) as client,
        database_refuses(monkeypatch, psycopg.errors.LockNotAvailable),
    ):
        response = client.get("/openrosa/formList", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(settings.SERVICE_BUSY_RETRY_AFTER)
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.text == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OpenRosaResponse xmlns="http://openrosa.org/http/response">'
        '<message nature="error">The service is busy. Try again in a few seconds.</message></OpenRosaResponse>'
    )
