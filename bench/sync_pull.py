"""Benchmark: WatermelonDB pulls of one village, first and incremental, on a small and a large database.

Measured in one run on the same machine, server time through Django's test client (token auth,
scoping, the snapshot, SQL, serialisation, JSON), median of --repeat:
  first        GET /api/v1/sync (no cursor) by a field officer of a village holding --village-workers
               workers and as many enrolments (3,000 + 3,000 by default).
  incremental  GET /api/v1/sync?last_pulled_at=<cursor> after 10 workers of that village changed,
               first with --small workers in the database (10,000), then with --large (1,000,000).
  floor        baseline: GET /api/v1/me by the same official (auth and rendering only).
Every pull is checked: the first returns every record of the village, the incremental ones exactly
the 10 changed workers.

Targets (issue 4): first pull <= 1 s; incremental <= 50 ms with 1,000,000 workers and no slower
than with 10,000.

Usage: .venv/bin/python bench/sync_pull.py [--village-workers 3000] [--small 10000] [--large 1000000] [--repeat 9]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench_sync), which it
drops and recreates.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_bench_sync")
VILLAGE = "17.04.01.2001"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ["REDIS_URL"] = ""
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghij")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def timed(client, url: str, repeat: int) -> tuple[float, dict]:
    times, body = [], {}
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:500]
        body = response.json()
    return statistics.median(times), body


def change_ten(round_: int) -> list[str]:
    """Ten workers of the village change, each in its own transaction, as ten edits would."""
    from workers.models import Worker

    ids = [f"v{n}" for n in range(round_ * 10, round_ * 10 + 10)]
    for worker_id in ids:
        Worker.objects.filter(id=worker_id).update(full_name=f"Warga Diubah {round_}")
    return ids


def incremental(client, repeat: int, round_: int) -> float:
    cursor = client.get("/api/v1/sync").json()["timestamp"]
    changed = change_ten(round_)
    seconds, body = timed(client, f"/api/v1/sync?last_pulled_at={cursor}", repeat * 3)
    workers = body["changes"]["workers"]
    assert sorted(r["id"] for r in workers["updated"]) == sorted(changed), workers
    assert workers["created"] == []
    assert workers["deleted"] == []
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--village-workers", type=int, default=3_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    from bench.load_areas import recreate_database

    recreate_database(BENCH_URL)
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from bench.populate import populate
    from villages.models import Assignment, Device, DeviceToken, Role, User

    call_command("migrate", verbosity=0)
    call_command("load_areas", province="17", stdout=open(os.devnull, "w"))  # noqa: SIM115
    officer = User.objects.create_user("bench-petugas", password="bench-Petugas-2026", role=Role.FIELD_OFFICER)
    Assignment.objects.create(user=officer, area_id=VILLAGE)
    device = Device.objects.create(user=officer, device_id="bench-phone")
    _token, key = DeviceToken.objects.create(user=officer, device=device, expiry=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    def analyze() -> None:
        # What the database does by itself after a bulk load (autovacuum, the checkpoint), done
        # now so that it does not land inside the measured requests (commits wait on the WAL).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE workers_worker")
            cursor.execute("VACUUM ANALYZE enrolment_enrolment")
            cursor.execute("CHECKPOINT")

    populate(workers=args.village_workers, village=VILLAGE, id_prefix="v")
    populate(
        workers=args.small - args.village_workers, id_prefix="p", start=args.village_workers, exclude_village=VILLAGE
    )
    analyze()
    floor_s, _ = timed(client, "/api/v1/me", args.repeat)
    first_s, body = timed(client, "/api/v1/sync", args.repeat)
    assert len(body["changes"]["workers"]["created"]) == args.village_workers
    assert len(body["changes"]["enrolments"]["created"]) == args.village_workers
    small_s = incremental(client, args.repeat, 0)

    started = time.perf_counter()
    populate(workers=args.large - args.small, id_prefix="p", start=args.small, exclude_village=VILLAGE)
    analyze()
    fill_s = time.perf_counter() - started
    floor_large_s, _ = timed(client, "/api/v1/me", args.repeat)
    first_large_s, body = timed(client, "/api/v1/sync", args.repeat)
    assert len(body["changes"]["workers"]["created"]) == args.village_workers
    large_s = incremental(client, args.repeat, 1)

    load = os.getloadavg()[0]
    print(f"machine load (1 min): {load:.2f}; filled {args.large:,} workers in {fill_s:.0f} s")
    print(
        f"floor        GET /api/v1/me, {args.small:,} / {args.large:,} in db     {floor_s * 1000:8.1f} / {floor_large_s * 1000:.1f} ms"
    )
    print(
        f"first pull   {args.village_workers:,} workers + {args.village_workers:,} enrolments, "
        f"{args.small:,} in db  {first_s * 1000:8.1f} ms   (target <= 1000 ms)"
    )
    print(f"first pull   same village, {args.large:,} in db               {first_large_s * 1000:8.1f} ms")
    print(f"incremental  10 changes, {args.small:,} workers in db            {small_s * 1000:8.1f} ms")
    print(
        f"incremental  10 changes, {args.large:,} workers in db          {large_s * 1000:8.1f} ms   "
        f"(target <= 50 ms and no slower than with {args.small:,}: ratio {large_s / small_s:.2f})"
    )


if __name__ == "__main__":
    main()
