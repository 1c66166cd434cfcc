"""The production settings pass `check --deploy`, and HTTPS behind a proxy sends HSTS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DJANGO_SECRET_KEY": "k3J9-very-long-random-production-secret-0f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "desa.example.go.id",
    "DJANGO_HTTPS": "true",
    "NUM_PROXIES": "1",
}


def deploy_check(**extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NUM_PROXIES"))}
    env.update(PRODUCTION, **extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_check_deploy_is_clean_with_the_production_settings():
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_https_check_deploy_names_what_is_missing():
    result = deploy_check(DJANGO_HTTPS="false")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


@pytest.fixture
def https(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def test_behind_a_tls_proxy_hsts_is_sent_and_http_is_redirected(client, https, db):
    over_tls = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert over_tls["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    plain = client.get("/api/v1/reference", HTTP_X_FORWARDED_PROTO="http")
    assert (plain.status_code, plain["Location"]) == (301, "https://testserver/api/v1/reference")
    assert client.get("/healthz", HTTP_X_FORWARDED_PROTO="http").status_code == 200  # probes stay plain
