"""Every error is the envelope, in Indonesian by default and English on request."""

import pytest
from django.test import override_settings

from tests.conftest import GEDUNG_WANI
from villages.models import Role


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def test_unknown_url(api):
    assert_envelope(api().get("/api/v1/no-such-thing"), 404, "not_found")
    assert_envelope(api().get("/nowhere"), 404, "not_found")


def test_not_found_in_a_view(api, make_user):
    assert_envelope(api(make_user()).get("/api/v1/areas/17.99"), 404, "not_found")


def test_method_not_allowed(api, make_user):
    error = assert_envelope(api(make_user()).delete("/api/v1/me"), 405, "method_not_allowed")
    assert error["details"] == {"method": "DELETE"}


def test_unsupported_media_type(api):
    response = api().post("/api/v1/auth/login", "username=a", content_type="application/x-www-form-urlencoded")
    assert_envelope(response, 415, "unsupported_media_type")


def test_malformed_json(api):
    response = api().post("/api/v1/auth/login", '{"username": "a",', content_type="application/json")
    assert_envelope(response, 400, "malformed_json")


def test_validation_error_lists_fields(api):
    error = assert_envelope(api().post("/api/v1/auth/login", {}, format="json"), 400, "validation_failed")
    assert sorted(error["details"]["fields"]) == ["device_id", "password", "username"]


def test_not_authenticated_and_forbidden(api, make_user):
    assert_envelope(api().get("/api/v1/me"), 401, "not_authenticated")
    assert_envelope(api(make_user(role=Role.FIELD_OFFICER)).get("/api/v1/users"), 403, "permission_denied")


@override_settings(MAX_JSON_BODY_BYTES=1000)
def test_too_large(api):
    response = api().post("/api/v1/auth/login", {"username": "a" * 2000}, format="json")
    error = assert_envelope(response, 413, "payload_too_large")
    assert error["details"] == {"limit_bytes": 1000}


def test_throttled_has_retry_after(api, make_user, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": "2/min"})
    client = api(make_user())
    for _ in range(2):
        assert client.get("/api/v1/me").status_code == 200
    response = client.get("/api/v1/me")
    error = assert_envelope(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert error["details"]["retry_after"] == int(response["Retry-After"])


def test_indonesian_by_default_english_on_request(api, make_user):
    client = api(make_user(areas=(GEDUNG_WANI,)))
    indonesian = assert_envelope(client.get("/api/v1/areas/17.99"), 404, "not_found")
    english = client.get("/api/v1/areas/17.99", HTTP_ACCEPT_LANGUAGE="en")
    assert indonesian["message"] == "Data tidak ditemukan."
    assert english.json()["error"]["message"] == "Not found."
    assert english["Content-Language"] == "en"


@pytest.mark.parametrize(
    ("language", "message", "field_message"),
    [
        (None, "Ada isian yang tidak valid.", "Bidang ini harus diisi."),
        ("en", "Some fields are not valid.", "This field is required."),
        ("en-US,en;q=0.9", "Some fields are not valid.", "This field is required."),
        ("fr", "Ada isian yang tidak valid.", "Bidang ini harus diisi."),
    ],
)
def test_field_messages_follow_the_language(api, language, message, field_message):
    client = api(language=language)
    error = assert_envelope(
        client.post("/api/v1/auth/login", {"username": "a"}, format="json"), 400, "validation_failed"
    )
    assert error["message"] == message
    assert error["details"]["fields"]["password"] == [field_message]


def test_login_failure_in_english(api):
    error = assert_envelope(
        api(language="en").post(
            "/api/v1/auth/login", {"username": "a", "password": "b", "device_id": "d"}, format="json"
        ),
        401,
        "invalid_credentials",
    )
    assert error["message"] == "Wrong username or password."
