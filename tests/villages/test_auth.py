from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.conftest import GEDUNG_WANI, KAUR, OTHER_REGENCY_VILLAGE
from tests.factories import PASSWORD, token_for
from villages.models import Device, DeviceToken, Role


def login(client, username, password=PASSWORD, device_id="hp-siti-01", body=None, **headers):
    return client.post(
        "/api/v1/auth/login",
        {"username": username, "password": password, "device_id": device_id, **(body or {})},
        format="json",
        **headers,
    )


def test_login_issues_a_hashed_expiring_token_for_the_device(api, make_user):
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,), username="siti")
    client = api()

    response = login(client, "siti", body={"device_name": "Samsung A14"}, HTTP_X_APP_VERSION="1.4.2")

    assert response.status_code == 200
    body = response.json()
    token = body["token"]
    assert body["user"]["username"] == "siti"
    assert body["user"]["role"] == "field_officer"
    assert body["user"]["areas"] == [GEDUNG_WANI]
    stored = DeviceToken.objects.get(user=officer)
    # Only the hash is kept.
    assert token not in stored.digest
    assert len(stored.digest) == 128
    assert stored.expiry > timezone.now() + timedelta(days=13)
    device = Device.objects.get(user=officer)
    assert (device.device_id, device.name, device.app_version, device.pk) == (
        "hp-siti-01",
        "Samsung A14",
        "1.4.2",
        body["device"],
    )
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "siti"


def test_logging_in_again_on_the_same_device_replaces_its_token(api, make_user):
    make_user(username="siti")
    first = login(api(), "siti").json()["token"]
    second = login(api(), "siti").json()["token"]

    assert DeviceToken.objects.count() == 1
    assert api().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {first}").status_code == 401
    assert api().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {second}").status_code == 200


def test_a_second_device_gets_its_own_token(api, make_user):
    officer = make_user(username="siti")
    login(api(), "siti", device_id="hp-1")
    login(api(), "siti", device_id="hp-2")
    assert sorted(Device.objects.filter(user=officer).values_list("device_id", flat=True)) == ["hp-1", "hp-2"]
    assert DeviceToken.objects.filter(user=officer).count() == 2


def test_wrong_password_and_unknown_user_look_the_same(api, make_user):
    make_user(username="siti")
    wrong = login(api(), "siti", password="salah")
    unknown = login(api(), "nobody", password="salah")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    assert DeviceToken.objects.count() == 0


def test_inactive_user_cannot_log_in(api, make_user):
    make_user(username="siti", is_active=False)
    assert login(api(), "siti").status_code == 401


def test_login_validates_its_input(api):
    response = api().post("/api/v1/auth/login", {"username": "siti", "device_id": "has space"}, format="json")
    assert response.status_code == 400
    assert sorted(response.json()["error"]["details"]["fields"]) == ["device_id", "password"]


def test_logout_revokes_the_token_on_the_very_next_request(api, make_user):
    make_user(username="siti")
    token = login(api(), "siti").json()["token"]
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.post("/api/v1/auth/logout").status_code == 204
    after = client.get("/api/v1/me")
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "authentication_failed"
    assert DeviceToken.objects.count() == 0


def test_admin_revoke_fails_the_device_on_its_very_next_request(api, make_user, admin_user):
    officer = make_user(username="siti")
    token = login(api(), "siti").json()["token"]
    device = Device.objects.get(user=officer)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me").status_code == 200

    revoked = api(admin_user).post(f"/api/v1/devices/{device.pk}/revoke")

    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert revoked.json()["signed_in"] is False
    assert client.get("/api/v1/me").status_code == 401
    assert not DeviceToken.objects.filter(device=device).exists()


def test_expired_token_fails_and_is_removed(api, make_user):
    officer = make_user()
    client = api(officer, expiry=timedelta(seconds=-1))
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert not DeviceToken.objects.filter(user=officer).exists()


def test_garbage_tokens_are_401_not_500(api):
    for header in ("Token", "Token a b", "Token " + "z" * 64, "Token ÿÿ"):
        response = api().get("/api/v1/me", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "authentication_failed"
    assert api().get("/api/v1/me").json()["error"]["code"] == "not_authenticated"


def test_deactivating_a_user_ends_its_tokens(api, make_user, admin_user):
    officer = make_user()
    client = api(officer)
    response = api(admin_user).patch(f"/api/v1/users/{officer.pk}", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert client.get("/api/v1/me").status_code == 401


# --- throttling ---------------------------------------------------------------------------------


@override_settings(LOGIN_FAILURES_PER_USERNAME=3, LOGIN_FAILURE_WINDOW_SECONDS=600)
def test_failed_logins_are_throttled_per_username(api, make_user):
    make_user(username="siti")
    for _ in range(3):
        assert login(api(), "siti", password="salah", REMOTE_ADDR="10.0.0.1").status_code == 401

    blocked = login(api(), "siti", REMOTE_ADDR="10.0.0.1")  # the right password, from there

    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "login_throttled"
    retry_after = int(blocked["Retry-After"])
    assert 590 <= retry_after <= 600
    assert blocked.json()["error"]["details"]["retry_after"] == retry_after
    assert DeviceToken.objects.count() == 0
    # Another username is not affected, nor the officer elsewhere: failing with someone's
    # username does not lock them out.
    make_user(username="budi")
    assert login(api(), "budi", REMOTE_ADDR="10.0.0.1").status_code == 200
    assert login(api(), "siti", REMOTE_ADDR="10.0.0.2").status_code == 200


@override_settings(
    LOGIN_FAILURES_PER_USERNAME=100, LOGIN_USERNAME_BACKOFF_AFTER=4, LOGIN_USERNAME_BACKOFF_MAX_SECONDS=60
)
def test_failures_from_many_addresses_only_slow_a_username_down(api, make_user):
    make_user(username="siti")
    for attempt in range(4):
        assert login(api(), "siti", password="salah", REMOTE_ADDR=f"10.1.0.{attempt}").status_code == 401
    slowed = login(api(), "siti", REMOTE_ADDR="10.2.0.1")
    assert (slowed.status_code, slowed.json()["error"]["code"]) == (429, "login_throttled")
    assert 1 <= int(slowed["Retry-After"]) <= 2  # a backoff of seconds, not the 15-minute window
    assert DeviceToken.objects.count() == 0


@override_settings(LOGIN_FAILURES_PER_ADDRESS=4, LOGIN_FAILURES_PER_USERNAME=100)
def test_failed_logins_are_throttled_per_address(api, make_user):
    make_user(username="siti")
    for attempt in range(4):
        assert login(api(), f"guess{attempt}", password="x", REMOTE_ADDR="10.9.9.9").status_code == 401

    assert login(api(), "siti", REMOTE_ADDR="10.9.9.9").status_code == 429
    assert login(api(), "siti", REMOTE_ADDR="10.9.9.8").status_code == 200


@override_settings(LOGIN_FAILURES_PER_USERNAME=3)
def test_a_successful_login_clears_the_username_counter(api, make_user):
    make_user(username="siti")
    for _ in range(2):
        login(api(), "siti", password="salah")
    assert login(api(), "siti").status_code == 200
    for _ in range(2):
        assert login(api(), "siti", password="salah").status_code == 401
    assert login(api(), "siti").status_code == 200


# --- devices ------------------------------------------------------------------------------------


def test_supervisor_lists_and_revokes_only_devices_in_its_scope(api, make_user):
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    inside = make_user(areas=(GEDUNG_WANI,))
    outside = make_user(areas=(OTHER_REGENCY_VILLAGE,))
    token_for(inside, device_id="inside-phone")
    token_for(outside, device_id="outside-phone")
    client = api(supervisor)

    listed = client.get("/api/v1/devices").json()["results"]

    # Its own phone is in its scope too; the other regency's is not.
    assert [d["device_id"] for d in listed] == ["inside-phone", "test-device"]
    assert listed[0]["signed_in"] is True
    outside_device = Device.objects.get(device_id="outside-phone")
    assert client.post(f"/api/v1/devices/{outside_device.pk}/revoke").status_code == 404
    assert DeviceToken.objects.filter(device=outside_device).count() == 1


@pytest.mark.parametrize("role", [Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.VIEWER])
def test_other_roles_may_not_list_devices(api, make_user, role):
    response = api(make_user(role=role)).get("/api/v1/devices")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_app_version_header_is_recorded(api, make_user):
    officer = make_user()
    api(officer).get("/api/v1/me", HTTP_X_APP_VERSION="2.0.1")
    assert Device.objects.get(user=officer).app_version == "2.0.1"


@override_settings(LOGIN_FAILURES_PER_ADDRESS=4, LOGIN_FAILURES_PER_USERNAME=100)
def test_x_forwarded_for_does_not_pick_the_counted_address(api, make_user):
    """With no proxy configured (NUM_PROXIES=0) the client's own X-Forwarded-For is ignored."""
    make_user(username="siti")
    codes = [
        login(api(), f"guess{i}", password="x", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=f"1.2.3.{i}").status_code
        for i in range(6)
    ]
    assert codes == [401, 401, 401, 401, 429, 429]


def test_audit_records_the_real_address_not_a_client_header(api, make_user):
    from villages.models import AuditEvent

    api(make_user()).get("/api/v1/workers", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert AuditEvent.objects.get(action="list").ip == "10.9.9.9"


def test_supervisor_cannot_revoke_a_peer_supervisors_device(api, make_user):
    boss = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    peer = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    token_for(peer, device_id="peer-phone")
    device = Device.objects.get(device_id="peer-phone")
    client = api(boss)
    assert "peer-phone" not in [d["device_id"] for d in client.get("/api/v1/devices").json()["results"]]
    assert client.post(f"/api/v1/devices/{device.pk}/revoke").status_code == 404
    assert DeviceToken.objects.filter(device=device).count() == 1
