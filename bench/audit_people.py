"""Benchmark: what the per-person audit rows of a list, an export and a sync pull cost (issue 13).

A read of many people is audited as one event plus one row per person seen (villages.audit
`audit_people` / `audit_people_in`, one statement per read). Measured in one run on the same
machine, server time through Django's test client, alternating with and without those rows
(without: the same code with the per-person writers replaced by no-ops, in this process only),
median of --repeat per mode:
  pull    GET /api/v1/sync (no cursor) by a field officer of a village of --village-workers
          workers and as many enrolments (3,000 + 3,000 by default): 3,000 rows.
  export  GET /api/v1/exports/workers.csv by the village's operator, the whole body read: 3,000 rows.
  list    GET /api/v1/workers (one page: 100) by the officer: 100 rows.
  alone   the per-person statements by themselves, 3,000 rows: COPY and INSERT … SELECT.

Usage: .venv/bin/python bench/audit_people.py [--village-workers 3000] [--others 7000] [--repeat 7]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench_audit), which
it drops and recreates.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_bench_audit")
VILLAGE = "17.04.01.2001"


def per_person_rows(on: bool) -> None:
    """Puts the per-person audit writers in place, or no-ops that write nothing."""
    import enrolment.exports.services as exports
    import enrolment.sync.services.pull as pull
    import villages.audit as audit
    import workers.permissions as permissions

    def nothing(*args: object, **kwargs: object) -> int:
        return 0

    pull.audit_people = audit.audit_people if on else nothing  # type: ignore[assignment]
    permissions.audit_people = audit.audit_people if on else nothing  # type: ignore[assignment]
    exports.audit_people_in = audit.audit_people_in if on else nothing  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--village-workers", type=int, default=3_000)
    parser.add_argument("--others", type=int, default=7_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from bench.harness import django_env

    django_env(BENCH_URL)  # recreated, migrated, province 17's areas loaded
    from django.db import connection
    from rest_framework.test import APIClient

    from bench.populate import populate
    from villages.models import Assignment, AuditEvent, Device, DeviceToken, Role, User

    officer = User.objects.create_user("bench-petugas", password="bench-Petugas-2026", role=Role.FIELD_OFFICER)
    operator = User.objects.create_user("bench-operator", password="bench-Operator-2026", role=Role.VILLAGE_OPERATOR)
    clients = {}
    for user in (officer, operator):
        Assignment.objects.create(user=user, area_id=VILLAGE)
        device = Device.objects.create(user=user, device_id=f"bench-{user.username}")
        _token, key = DeviceToken.objects.create(user=user, device=device, expiry=None)
        clients[user.username] = APIClient()
        clients[user.username].credentials(HTTP_AUTHORIZATION=f"Token {key}")
    populate(workers=args.village_workers, village=VILLAGE, id_prefix="v")
    populate(workers=args.others, id_prefix="p", start=args.village_workers, exclude_village=VILLAGE)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE workers_worker")
        cursor.execute("VACUUM ANALYZE enrolment_enrolment")
        cursor.execute("CHECKPOINT")

    def pull() -> int:
        body = clients["bench-petugas"].get("/api/v1/sync").json()
        return len(body["changes"]["workers"]["created"])

    def export() -> int:
        response = clients["bench-operator"].get("/api/v1/exports/workers.csv")
        return b"".join(response.streaming_content).count(b"\n") - 1

    def listing() -> int:
        return len(clients["bench-petugas"].get("/api/v1/workers").json()["results"])

    reads: dict[str, Callable[[], int]] = {"pull": pull, "export": export, "list": listing}
    times: dict[tuple[str, bool], list[float]] = {(name, on): [] for name in reads for on in (False, True)}
    seen: dict[str, int] = {}
    for name, read in reads.items():
        read()  # warm up (plans, caches)
        for _ in range(args.repeat):
            for on in (False, True):  # alternating, so load on the shared machine hits both alike
                per_person_rows(on)
                before = AuditEvent.objects.count()
                started = time.perf_counter()
                seen[name] = read()
                times[(name, on)].append(time.perf_counter() - started)
                written = AuditEvent.objects.count() - before
                assert written == (1 + seen[name] if on else 1), (name, on, written, seen[name])
    per_person_rows(True)

    # The per-person statements alone (what "with" adds), in their own transaction each.
    from django.db import transaction

    from villages.audit import Actor, audit_event, audit_people, audit_people_in
    from workers.models import Worker

    actor = Actor(user=officer)
    village = Worker.objects.filter(village_id=VILLAGE)
    pairs = list(village.values_list("id", "village_id"))
    alone: dict[str, list[float]] = {"COPY (pull, list)": [], "INSERT ... SELECT (export)": []}
    for _ in range(args.repeat):
        for label, write in (
            ("COPY (pull, list)", lambda event: audit_people(actor, event, pairs)),
            ("INSERT ... SELECT (export)", lambda event: audit_people_in(actor, event, village)),
        ):
            with transaction.atomic():
                event = audit_event(actor, "export", "worker")
                started = time.perf_counter()
                assert write(event) == len(pairs)
                alone[label].append(time.perf_counter() - started)

    print(f"machine load (1 min): {os.getloadavg()[0]:.2f}; median of {args.repeat}, alternating")
    for name in reads:
        off = statistics.median(times[(name, False)]) * 1000
        on = statistics.median(times[(name, True)]) * 1000
        print(
            f"{name:7} {seen[name]:6,} people   without {off:8.1f} ms   with {on:8.1f} ms   "
            f"+{on - off:6.1f} ms ({(on - off) / off * 100:+.0f} %)"
        )
    for label, seconds in alone.items():
        print(f"alone   {len(pairs):6,} rows     {label:28} {statistics.median(seconds) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
