"""Benchmark: server time of the panel's heaviest pages against GET /api/v1/me, in one run.

Measured through Django's test client (session, middleware, selectors, SQL, template rendering;
no network), each request --repeat times after one warm-up, p50 and p95:
  beranda     GET /panel/ as the operator of Gedung Wani (17.04.01.2001)
  verifikasi  GET /panel/verifikasi/ as that operator, with 10,000 enrolments waiting there
  laporan     GET /panel/laporan/?area=17 as a viewer of Bengkulu, with --workers workers
              (1,000,000 by default) in the province, one enrolment each (the running counts
              folded once, as the beat task does)
  me          baseline: GET /api/v1/me with a device token, the cheapest authenticated request

Target (issue 12): each panel page <= 300 ms at p95.

Usage: .venv/bin/python bench/panel.py [--workers 1000000] [--waiting 10000] [--repeat 30]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench_panel), which it
drops and recreates. Needs FIELD_ENCRYPTION_KEYS / BLIND_INDEX_KEY like every manage.py command.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_bench_panel")
GEDUNG_WANI = "17.04.01.2001"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ["REDIS_URL"] = ""
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghij")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def timings(get, repeat: int) -> dict[str, float]:
    response = get()  # warm-up: caches, prepared plans, template loading
    assert response.status_code == 200, response.status_code
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = get()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 1),
        "max_ms": round(samples[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    from bench.load_areas import recreate_database

    recreate_database(BENCH_URL)
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from rest_framework.test import APIClient

    from bench.populate import populate
    from enrolment.reports.services import coverage_compact
    from tests.factories import token_for
    from villages.models import Assignment, Role, User

    call_command("migrate", verbosity=0)
    call_command("load_areas", province="17", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115 - Bengkulu's regency targets
    started = time.perf_counter()
    populate(workers=args.workers)
    populate(workers=args.waiting, village=GEDUNG_WANI, id_prefix="q", start=args.workers)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE enrolment_enrolment SET status = 'submitted' WHERE id LIKE 'qe%%'")
        cursor.execute("VACUUM ANALYZE workers_worker")
        cursor.execute("VACUUM ANALYZE enrolment_enrolment")
    coverage_compact()
    populate_s = time.perf_counter() - started

    operator = User.objects.create_user("bench-operator", password="bench-Oper-2026", role=Role.VILLAGE_OPERATOR)
    Assignment.objects.create(user=operator, area_id=GEDUNG_WANI)
    viewer = User.objects.create_user("bench-viewer", password="bench-Lihat-2026", role=Role.VIEWER)
    Assignment.objects.create(user=viewer, area_id="17")
    as_operator, as_viewer = Client(), Client()
    as_operator.force_login(operator)
    as_viewer.force_login(viewer)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(operator)}")

    from enrolment.selectors import enrolment_list

    queue_length = enrolment_list(user=operator, status={"submitted"}).count()
    assert queue_length >= args.waiting, queue_length
    results = {
        "me": timings(lambda: api.get("/api/v1/me"), args.repeat),
        "beranda": timings(lambda: as_operator.get("/panel/"), args.repeat),
        "verifikasi": timings(lambda: as_operator.get("/panel/verifikasi/"), args.repeat),
        "laporan": timings(lambda: as_viewer.get("/panel/laporan/", {"area": "17"}), args.repeat),
    }
    print(json.dumps({"workers": args.workers, "waiting": queue_length, "repeat": args.repeat,
                      "populate_s": round(populate_s, 1), "results": results}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
