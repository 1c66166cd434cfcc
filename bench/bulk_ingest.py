"""Benchmark: records per second through POST /api/v1/workers/bulk, over real HTTP.

Three ways to store the same rows, measured in the same run on the same machine:
  service    POST /api/v1/workers/bulk, 1,000 per request: full validation (NIK, phone, names,
             heirs, consent), scoping, duplicate NIK answer, possible-duplicate warning, audit;
  plain      a plain DRF ModelSerializer(many=True) + bulk_create endpoint (bench/urls.py),
             1,000 per request, over the same HTTP stack;
  copy       PostgreSQL COPY of the same rows straight into the table (no HTTP, no checks).
The table is emptied between runs; each round starts with the next path (a fixed order biased
the figures by position). It also counts the service's SQL queries for one request of
1,000 records (constant: no per-record queries).

  no-finder  the service with the duplicate finder off (DQ_FINDER=false, a second gunicorn):
             the finder's cost (issue 14: the service keeps >= 80 % of this).
Targets (issue 3): service ≥ 5,000 records/s and ≥ 1.5x plain; (issue 14) service ≥ 0.8x
no-finder.

CPU account (service and no-finder): wall-clock rates on a shared machine move with the other
load (the same code gave 65 to 81 %), CPU time much less. Around each run of those two paths the
script reads the user + system CPU time (/proc/<pid>/stat) of the path's gunicorn worker and of
the PostgreSQL backends serving it (found in pg_stat_activity by application_name, which each
server sets through PGAPPNAME; both keep their connection for the whole run,
DATABASE_CONN_MAX_AGE), and prints it per 1,000 records with the ratio no-finder CPU / service
CPU next to the wall-clock ratio, then the same ratio per round (its two runs next to each
other in time) as a median and a range. Not counted, for either path: PostgreSQL's background
processes (WAL writer, checkpointer, autovacuum) and the client's own work.

Usage: .venv/bin/python bench/bulk_ingest.py [--records 20000] [--repeat 3] [--paths service,no-finder]
(--paths: only those paths; the finder's figures need only service and no-finder, and plain
takes longer than the others together.)
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench_bulk), which it
drops and recreates, and starts gunicorn on a free port.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import children, cpu_seconds, django_env, field_officer, gunicorn_process  # noqa: E402

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_bench_bulk")
VILLAGE = "17.04.01.2001"


def nik(index: int) -> str:
    born = dt.date(1960, 1, 1) + dt.timedelta(days=index % 15000)
    return f"170401{born.day:02d}{born.month:02d}{born.year % 100:02d}{index % 9999 + 1:04d}"


SYLLABLES = ["ba", "di", "ka", "lu", "ma", "ni", "ra", "si", "tu", "wa"]


def spell(number: int) -> str:
    """A distinct pronounceable word per number: 472 -> "Kalura"."""
    return "".join(SYLLABLES[int(d)] for d in str(number)).capitalize()


def records(
    count: int,
    *,
    start: int = 0,
    village: str = VILLAGE,
    id_prefix: str = "bench",
    nik_of: Callable[[int], str] = nik,
    phone_prefix: str = "0812",
) -> list[dict]:
    """`count` valid registrations numbered from `start`, in `village` (bench/national.py asks for
    its own village, ids, NIK serials and phones, apart from the people it COPYed)."""
    out = []
    for i in range(start, start + count):
        born = dt.date(1960, 1, 1) + dt.timedelta(days=i % 15000)
        out.append(
            {
                "id": f"{id_prefix}-{i:07d}",
                "nik": nik_of(i),
                "kk_number": f"17040101{i % 99999999:08d}",
                "full_name": f"Warga Desa {spell(i)}",  # names have no digits (the name rule)
                "birth_date": born.isoformat(),
                "birth_place": "Kaur",
                "sex": "M",
                "phone": f"{phone_prefix}{i % 100000000:08d}",
                "village": village,
                "address": {"street": "Jl. Pantai Linau", "dusun": "Dusun II", "rt": "003", "rw": "001"},
                "occupation": "nelayan",
                "monthly_income": 1_500_000,
                "mother_maiden_name": "Aminah",
                "heirs": [{"name": "Rahmat", "relationship": "child", "nik": "", "phone": ""}],
                "consent": {"given_at": "2026-11-20T09:00:00+07:00", "method": "signature", "recorded_by": "petugas"},
            }
        )
    return out


def flat(record: dict) -> dict:
    """The same row as the plain ModelSerializer takes it (model field names)."""
    row = {k: v for k, v in record.items() if k not in ("address", "consent")}
    row.update({f"address_{k}": v for k, v in record["address"].items()})
    row["consent_given_at"] = record["consent"]["given_at"]
    row["consent_method"] = record["consent"]["method"]
    row["consent_recorded_by"] = record["consent"]["recorded_by"]
    return row


def truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # The finder's match rows have no foreign key to reach them through CASCADE (workers/models.py).
        cursor.execute("TRUNCATE workers_worker, workers_matchname, villages_auditevent CASCADE")
        # Coverage count tables (kept by triggers) would otherwise grow across runs.
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'enrolment_coverage%%'")
        for (table,) in cursor.fetchall():
            cursor.execute(f"TRUNCATE {table}")


def post_all(client, url: str, bodies: list[bytes], token: str, expected: int) -> float:
    """Sends every body; refuses to report a figure unless every record was really stored."""
    started = time.perf_counter()
    for body in bodies:
        response = client.post(
            url, content=body, headers={"Content-Type": "application/json", "Authorization": f"Token {token}"}
        )
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:500]}")
        summary = response.json().get("summary")
        if summary is not None and summary.get("invalid"):
            bad = next(r for r in response.json()["results"] if r["result"] == "invalid")
            raise SystemExit(f"{url}: {summary['invalid']} records refused, e.g. {bad}")
    elapsed = time.perf_counter() - started
    stored = stored_workers()
    if stored != expected:
        raise SystemExit(f"{url}: {stored} workers stored, expected {expected}")
    return elapsed


class CpuMeter:
    """CPU seconds used by one server's gunicorn worker(s) and their PostgreSQL backends."""

    def __init__(self, master_pid: int, application_name: str) -> None:
        self.master_pid, self.application_name = master_pid, application_name

    def backends(self) -> list[int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [self.application_name])
            return sorted(pid for (pid,) in cursor.fetchall())

    def sample(self) -> tuple[float, float, list[int]]:
        """(the workers' CPU, the backends' CPU, the backends' ids) so far."""
        backends = self.backends()
        app = sum(cpu_seconds(pid) for pid in children(self.master_pid))
        return app, sum(cpu_seconds(pid) for pid in backends), backends

    def measure(self, run: Callable[[], float]) -> tuple[float, float, float]:
        """Runs `run` (it returns its wall-clock seconds): (seconds, worker CPU, backend CPU)."""
        app_before, db_before, backends_before = self.sample()
        elapsed = run()
        app_after, db_after, backends_after = self.sample()
        if backends_after != backends_before:  # a backend that ended took its CPU time with it
            raise SystemExit(f"{self.application_name}: backends changed during the run, CPU not counted")
        return elapsed, app_after - app_before, db_after - db_before


def stored_workers() -> int:
    from workers.models import Worker

    return Worker.objects.count()


def copy_rows(rows: list[dict]) -> float:
    from django.db import connection

    columns = [
        "id", "village_id", "nik", "kk_number", "full_name", "birth_date", "birth_place", "sex", "phone",
        "address_street", "address_dusun", "address_rt", "address_rw", "occupation_id", "kusuka_number",
        "monthly_income", "mother_maiden_name", "heirs", "consent_given_at", "consent_method", "consent_recorded_by",
        "warnings", "needs_correction", "errors", "version", "request_hash", "created_at", "updated_at",
        "nik_bi", "kk_bi", "phone_bi",
    ]  # fmt: skip
    # Personal data as the service stores it: tokens and blind indexes (config/pii.py).
    from config import pii

    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(f"COPY workers_worker ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for r in rows:
            phone = "+62" + r["phone"][1:]
            copy.write_row(
                (
                    r["id"], r["village"], pii.encrypt(r["nik"]), pii.encrypt(r["kk_number"]), r["full_name"],
                    r["birth_date"], r["birth_place"], r["sex"], pii.encrypt(phone), r["address"]["street"],
                    r["address"]["dusun"], r["address"]["rt"], r["address"]["rw"], r["occupation"], "",
                    r["monthly_income"], pii.encrypt(r["mother_maiden_name"]), pii.encrypt(json.dumps(r["heirs"])),
                    r["consent"]["given_at"], r["consent"]["method"], r["consent"]["recorded_by"],
                    "[]", False, "{}", 1, "", now, now, pii.blind_index(r["nik"], purpose="nik"),
                    pii.blind_index(r["kk_number"], purpose="kk"), pii.blind_index(phone, purpose="phone"),
                )
            )  # fmt: skip
    return time.perf_counter() - started


def count_queries(token_user, rows: list[dict]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from tests.factories import token_for

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(token_user, device_id='bench-queries')}")
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/workers/bulk", {"records": rows}, format="json")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["summary"]["created"] == len(rows), response.json()["summary"]
    return len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--paths", default="service,no-finder,plain,copy", help="Comma list of the paths to run.")
    args = parser.parse_args()

    env = django_env(BENCH_URL)
    import httpx

    officer, token = field_officer(VILLAGE)

    rows = records(args.records)
    service_bodies = [json.dumps({"records": rows[i : i + 1000]}).encode() for i in range(0, len(rows), 1000)]
    plain_bodies = [
        json.dumps({"records": [flat(r) for r in rows[i : i + 1000]]}).encode() for i in range(0, len(rows), 1000)
    ]

    # One connection per server for the whole run (the CPU account reads its backend's time).
    served = {**env, "DATABASE_CONN_MAX_AGE": "86400"}
    with (
        gunicorn_process({**served, "PGAPPNAME": "bench-service"}) as (base, service_process),
        gunicorn_process({**served, "PGAPPNAME": "bench-no-finder", "DQ_FINDER": "false"}) as (bare_base, bare_process),
        httpx.Client(base_url=base, timeout=120) as client,
        httpx.Client(base_url=bare_base, timeout=120) as bare_client,
    ):
        timings: dict[str, list[float]] = {"service": [], "no-finder": [], "plain": [], "copy": []}
        meters = {
            "service": CpuMeter(service_process.pid, "bench-service"),
            "no-finder": CpuMeter(bare_process.pid, "bench-no-finder"),
        }
        cpu: dict[str, list[tuple[float, float]]] = {name: [] for name in meters}
        truncate()
        post_all(client, "/api/v1/workers/bulk", service_bodies[:1], token, 1000)  # warm up every path
        truncate()
        post_all(bare_client, "/api/v1/workers/bulk", service_bodies[:1], token, 1000)
        truncate()
        post_all(client, "/bench/plain-bulk", plain_bodies[:1], token, 1000)
        paths: dict[str, Callable[[], float]] = {
            "service": lambda: post_all(client, "/api/v1/workers/bulk", service_bodies, token, args.records),
            "no-finder": lambda: post_all(bare_client, "/api/v1/workers/bulk", service_bodies, token, args.records),
            "plain": lambda: post_all(client, "/bench/plain-bulk", plain_bodies, token, args.records),
            "copy": lambda: copy_rows(rows),
        }
        order = [name for name in paths if name in args.paths.split(",")]
        for round_ in range(args.repeat):
            # Each round starts with the next path: with one fixed order a path's position in the
            # round (the table just truncated, the other server idle) biased its figure.
            for name in order[round_ % len(order) :] + order[: round_ % len(order)]:
                truncate()
                if name in meters:
                    elapsed, app, db = meters[name].measure(paths[name])
                    cpu[name].append((app, db))
                else:
                    elapsed = paths[name]()
                timings[name].append(elapsed)
        truncate()
        queries = count_queries(officer, rows[:1000])
        queries_small = count_queries(officer, rows[1000:1010])

    rates = {name: args.records / statistics.median(values) for name, values in timings.items() if values}
    print(f"bulk ingest: {args.records:,} workers, 1,000 per request, median of {args.repeat} runs")
    print(f"{'path':<10} {'records/s':>10} {'median s':>9}")
    for name, rate in rates.items():
        print(f"{name:<10} {rate:>10,.0f} {statistics.median(timings[name]):>9.2f}")
    if {"service", "plain", "copy"} <= set(rates):
        print(
            f"service / plain: {rates['service'] / rates['plain']:.2f}x"
            f"   service / copy: {rates['service'] / rates['copy']:.2f}x"
        )
        met = rates["service"] >= 5000 and rates["service"] >= 1.5 * rates["plain"]
        print(f"targets (>= 5,000/s and >= 1.5x plain): {'met' if met else 'MISSED'}")
    print(f"SQL queries for one request: {queries} with 1,000 records, {queries_small} with 10")
    if not {"service", "no-finder"} <= set(rates):
        return
    kept = rates["service"] / rates["no-finder"]
    print(
        f"with the duplicate finder: {kept:.0%} of the throughput without it (target >= 80 %):"
        f" {'met' if kept >= 0.8 else 'MISSED'}"
    )
    per_1000 = 1000 / args.records
    totals = {}
    print("CPU seconds per 1,000 records (median of the runs): gunicorn worker + PostgreSQL backend = total")
    for name, samples in cpu.items():
        app = statistics.median(a for a, _ in samples) * per_1000
        db = statistics.median(d for _, d in samples) * per_1000
        totals[name] = statistics.median(a + d for a, d in samples) * per_1000
        print(f"{name:<10} {app:>6.3f} + {db:>6.3f} = {totals[name]:>6.3f}")
    cpu_kept = totals["no-finder"] / totals["service"]
    print(
        f"CPU: no-finder / service {cpu_kept:.0%} (target >= 80 %: {'met' if cpu_kept >= 0.8 else 'MISSED'});"
        f" wall clock {kept:.0%}"
    )
    # The same ratio round by round: the two paths of a round ran next to each other, so a slow
    # spell of the shared machine weighs on both; the spread shows how far one run can be trusted.
    by_round = sorted(sum(b) / sum(a) for a, b in zip(cpu["service"], cpu["no-finder"], strict=True))
    print(
        f"CPU ratio round by round: median {statistics.median(by_round):.0%},"
        f" range {by_round[0]:.0%}-{by_round[-1]:.0%} over {len(by_round)} rounds"
    )


if __name__ == "__main__":
    main()
