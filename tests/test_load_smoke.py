"""The Locust load test (bench/load_test.py) in small: 5 phones for 15 s through gunicorn.

So that the runner and bench/load/locustfile.py cannot rot between the long runs: it must end
with exit status 0 (no failed request, the runner's database checks passed), every endpoint the
phones use must have been called (the name lookup: when it came up), and the database, counted here on its own, must hold exactly
the workers and enrolments the phones say they stored.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = {
    "GET /api/v1/reference",
    "GET /api/v1/sync (first pull)",
    "GET /api/v1/sync (incremental)",
    "POST /api/v1/sync",
    "POST /api/v1/workers/lookup (nik)",
}
# Called only once a phone has pulled back someone it registered: usually, not surely, in 15 s.
SOMETIMES = {"POST /api/v1/workers/lookup (name)"}
STORED = 200


def test_five_phones_sync_for_fifteen_seconds_without_an_error(tmp_path: Path) -> None:
    base = urlparse(os.environ.get("TEST_DATABASE_URL") or os.environ["DATABASE_URL"])
    database_url = base._replace(path=f"{base.path}_load_smoke").geturl()
    command = [
        sys.executable, "bench/load_test.py", "--users", "5", "--spawn-rate", "5", "--minutes", "0.25",
        "--villages", "2", "--stored-workers", str(STORED), "--workers", "2", "--wait", "0.5", "1.5", "--baseline-seconds", "0",
        "--out", str(tmp_path), "--database-url", database_url,
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "error rate: 0 / " in done.stdout
    assert "every pushed record stored exactly once, versions = 1 + edits: passed" in done.stdout
    with (tmp_path / "load_stats.csv").open() as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    assert ENDPOINTS | {"Aggregated"} <= set(rows) <= ENDPOINTS | SOMETIMES | {"Aggregated"}
    assert {name: row["Failure Count"] for name, row in rows.items()} == dict.fromkeys(rows, "0")
    assert all(int(row["Request Count"]) > 0 for row in rows.values())
    assert int(rows["GET /api/v1/sync (first pull)"]["Request Count"]) == 5

    ledger = json.loads((tmp_path / "load_ledger.json").read_text())
    assert ledger["created_workers"], "the phones registered nobody"
    assert ledger["in_flight"] == []
    with psycopg.connect(database_url) as conn:
        counted = conn.execute(
            "SELECT (SELECT count(*) FROM workers_worker WHERE id NOT LIKE 's%'),"
            " (SELECT count(*) FROM enrolment_enrolment WHERE id NOT LIKE 's%'),"
            " (SELECT count(*) FROM workers_worker WHERE id LIKE 's%')"
        ).fetchone()
    assert counted == (len(ledger["created_workers"]), len(ledger["created_enrolments"]), STORED)
    # The runner's own database, left for a look after a failure, goes on success.
    with psycopg.connect(base._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{urlparse(database_url).path.lstrip("/")}" WITH (FORCE)')
