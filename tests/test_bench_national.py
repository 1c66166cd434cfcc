"""bench/national.py at a tiny size, so the national benchmark cannot rot between its long runs."""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent

FIGURES = [
    "incremental pull p99",
    "incremental pull p50 / p95",
    "bulk ingest",
    "first pull",
    "province report (17, by regency)",
    "province report (17, by village",
    "country report (by province)",
    "baseline: country report from the village counts",
    "verification queue page",
    "audit write",
]


@pytest.mark.e2e
def test_national_benchmark_prints_every_figure(tmp_path):
    # A database of its own next to the test database, dropped afterwards.
    # The server scripts/test points the suite at (TEST_DATABASE_URL there becomes DATABASE_URL).
    url = urlparse(
        os.environ.get("TEST_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or "postgres://postgres@127.0.0.1:5432/enrolment"
    )
    name = f"{url.path.lstrip('/')}_national_smoke"
    bench_url = url._replace(path=f"/{name}").geturl()
    explain = tmp_path / "explain.txt"
    try:
        done = subprocess.run(  # noqa: S603 - our own script
            [sys.executable, "bench/national.py", "--province", "17", "--villages-limit", "40", "--workers", "6000",
             "--baseline", "4000", "--village-workers", "300", "--waiting", "200", "--audit-rows", "5000",
             "--pulls", "5", "--bulk-requests", "1", "--bulk-size", "100", "--audit-writes", "20", "--repeat", "2",
             "--explain", str(explain)],
            cwd=ROOT, env={**os.environ, "BENCH_DATABASE_URL": bench_url}, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
    finally:
        with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert [next((f for f in FIGURES if row.startswith(f"| {f}")), row) for row in rows] == FIGURES
    # Every figure with a target has its verdict; the audit log holds what was COPYed and written.
    assert len([row for row in rows if re.search(r"\| (met|MISSED) \|$", row)]) == 7
    audit = re.search(r"audit log ([\d,]+) rows", done.stdout)
    assert audit is not None
    assert int(audit[1].replace(",", "")) >= 5000 + 2 * (20 + 20)  # COPYed + two rounds of writes and warm-ups
    plans = explain.read_text()
    for label in ("incremental pull", "first pull", "province report", "country report", "verification queue"):
        assert f"== {label}" in plans
    assert plans.count("Execution Time") >= 6
