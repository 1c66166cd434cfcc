"""Schemathesis against the live test server: every operation of the published schema, a bounded
number of generated requests each, checked for server errors and for answers off the schema.

The server is pytest-django's live server (a thread of this process, on the test database); the
schemathesis CLI runs in its own process, authenticated as an admin official with a device token.
Its counts (operations, requests) are printed at the end of the pytest run (tests/contract/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.db import connection
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tests.conftest import committed
from tests.factories import UserFactory
from villages.models import Role

pytestmark = [pytest.mark.e2e, committed]

# Generated requests per operation: about 1,000 in all, a minute and a half on one core. The
# coverage phase (every boundary of every parameter) would add 4,000 more and three minutes.
MAX_EXAMPLES = 20
SEED = 20261202
ST = str(Path(sys.executable).parent / "st")
ROOT = Path(__file__).resolve().parents[2]


# Operations left out of the run. Empty: the five 500s this test found after the 18:50 merge
# (docs/hard-contract.md) are fixed, with regression tests (tests/funding/test_bad_input.py,
# tests/panel/test_hostile.py). An operation is never added here to make the suite pass.
KNOWN_SERVER_ERRORS: list[str] = []


def _database_url() -> str:
    """The test database this process (and so the live server) uses, as a DATABASE_URL."""
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(
    live_server, tmp_path, monkeypatch, settings, record_property
):
    # Configured as in production: "sync now" queues a cycle (the test's Redis; nothing consumes
    # it) instead of answering 503 registry_not_configured, which not_a_server_error counts.
    settings.REGISTRY_URL = "http://127.0.0.1:9"
    # A few thousand requests in a minute or two: the rate limits are not what is tested here.
    monkeypatch.setattr(UserRateThrottle, "rate", "1000000/min", raising=False)
    monkeypatch.setattr(AnonRateThrottle, "rate", "1000000/min", raising=False)
    official = UserFactory(role=Role.ADMIN, areas=[])
    report = tmp_path / "report.json"
    command = [
        ST, "run", f"{live_server.url}/api/schema/?format=json",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--phases", "examples,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--generation-database", "none",
        "--request-timeout", "30",
        "--workers", "1",  # one request at a time: two cores are shared with the rest of the suite
        "--no-color",
        "--report", "json", "--report-json-path", str(report),
        *[arg for operation_id in KNOWN_SERVER_ERRORS for arg in ("--exclude-operation-id", operation_id)],
    ]  # fmt: skip
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.contract.schemathesis_hooks",
        "CONTRACT_DATABASE_URL": _database_url(),
        "CONTRACT_USERNAME": official.username,
        "PYTHONPATH": str(ROOT),
    }
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)  # noqa: S603
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    run = json.loads(report.read_text())
    operations, cases = run["operations"], run["test_cases"]
    assert (run["complete"], run["failures"], run["errors"]) == (True, [], []), output[-20000:]
    assert operations["total"] == len(_operations(live_server.url)) > 50
    assert operations["tested"] == operations["selected"] == operations["total"] - len(KNOWN_SERVER_ERRORS)
    assert cases["errored"] == 0
    record_property(
        "contract",
        f"schemathesis {run['schemathesis_version']}: {operations['tested']} operations, "
        f"{cases['generated']} requests, 0 server errors, 0 answers off the schema "
        f"({time.monotonic() - started:.0f} s)",
    )


def _operations(base_url: str) -> list[str]:
    schema = httpx.get(f"{base_url}/api/schema/?format=json", timeout=30).json()
    return [f"{method} {path}" for path, item in schema["paths"].items() for method in item]
