import os
from unittest import mock

from django.core.management import call_command

from villages.models import Role, User


def test_healthz(api):
    assert api().get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_database_broker_and_migrations(api, db):
    response = api().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"] == {"ok": True, "pending": 0}
    assert body["checks"]["broker"]["ok"] is True


def test_readyz_reports_an_unreachable_broker(api, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = api().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {"ok": False, "mode": "redis", "error": "ConnectionError"}


def test_openapi_schema_and_docs(api, db):
    schema = api().get("/api/schema/?format=json")
    assert schema.status_code == 200
    body = schema.json()
    assert "/api/v1/auth/login" in body["paths"]
    assert "login_throttled" in body["components"]["schemas"]["ErrorCode"]["enum"]
    login_errors = body["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert login_errors["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    docs = api().get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_createsuperuser_works_non_interactively(db):
    env = {
        "DJANGO_SUPERUSER_USERNAME": "root",
        "DJANGO_SUPERUSER_PASSWORD": "Akar-Pohon-2026",
        "DJANGO_SUPERUSER_EMAIL": "root@example.org",
    }
    with mock.patch.dict(os.environ, env):
        call_command("createsuperuser", interactive=False, verbosity=0)
    user = User.objects.get(username="root")
    assert (user.is_superuser, user.is_staff, user.is_admin) == (True, True, True)
    assert user.check_password("Akar-Pohon-2026")
    assert user.role == Role.ADMIN


def test_admin_site_lists_areas_for_a_superuser(client, db):
    User.objects.create_superuser("root", "root@example.org", "Akar-Pohon-2026")
    client.login(username="root", password="Akar-Pohon-2026")
    assert client.get("/admin/villages/area/?q=Gedung+Wani").status_code == 200
    assert client.get("/admin/villages/user/").status_code == 200
    assert client.get("/admin/villages/assignment/").status_code == 200
