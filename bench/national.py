"""Benchmark: the service at national scale (issue 17): 10,000,000 workers over all 83,762 villages.

One process, one database, three stages; every figure of the last two against the same figure
measured earlier in the same run:
  1 M        areas of the whole country; --baseline workers (1,000,000) COPYed (bench/populate.py:
             tokens and blind indexes as the service stores them, one enrolment each in the fixed
             status mix, the sync clock and the running counts kept by the database's triggers),
             spread over every village, with a village of --village-workers (3,000) people and a
             village of --waiting (10,000) enrolments waiting for verification. Measured: the
             incremental pull, bulk ingest, the audit write on an empty audit log, and (for
             reference) the first pull, the reports and the queue.
  10 M       COPY up to --workers (10,000,000); VACUUM ANALYZE; the running counts folded (as the
             beat task does). Measured again: incremental pull p99 (<= 1.2 x its 1 M figure), bulk
             ingest (>= 90 % of its 1 M figure), first pull of the 3,000-person village (<= 1 s),
             coverage report of the largest province (<= 300 ms) and of the country (<= 2 s), the
             verification queue page (<= 300 ms).
  audit      --audit-rows (30,000,000) audit rows COPYed over monthly partitions (two years back
             to this month, as two years of service leave them); the audit write again (<= 1.1 x
             its figure on the empty log).

Paths (server time, in this process through Django's test client: token or session auth,
middleware, scoping, SQL, serialisation, JSON; no network, which is the same at both sizes):
  incremental pull  GET /api/v1/sync?last_pulled_at=<the previous pull's timestamp> by the field
                    officer of the 3,000-person village after 5 of its workers changed (one
                    UPDATE); --pulls pulls, each checked to return exactly those 5; p50/p95/p99.
  first pull        GET /api/v1/sync (no cursor): every worker and enrolment of the village.
  bulk ingest       POST /api/v1/workers/bulk, --bulk-requests requests of --bulk-size records
                    (bench/bulk_ingest.py's service path), all created, records/s.
  audit write       villages.audit.audit_event(): the one-row INSERT every single view, change and
                    status makes, in its own transaction (commit included), --audit-writes times.
  province report   GET /api/v1/reports/coverage?area=<the province with most villages> (by regency,
                    the default; by village for reference) as a viewer of that province.
  country report    GET /api/v1/reports/coverage (no area) as an admin: the country by province.
  queue page        GET /panel/verifikasi/ as the operator of the village with --waiting waiting.
Medians of --repeat for the first pull and the reports, p95 of --repeat x 3 for the queue page.
EXPLAIN (ANALYZE, BUFFERS) of the slowest statements of a pull, the reports and the queue at 10 M
go to --explain (bench/results/national_explain.txt).

--reuse measures the country report (province counts against the village counts), bulk ingest
and the incremental pull again on the database a full run left, migrated first.

Usage (about 1 hour and 18 GB of disk at full size on 2 shared cores; --drop removes the database at the end):
  .venv/bin/python bench/national.py [--workers 10000000] [--baseline 1000000] [--audit-rows 30000000]
Smoke size (tests/test_bench_national.py):
  .venv/bin/python bench/national.py --province 17 --villages-limit 40 --workers 6000 --baseline 4000 \\
      --village-workers 300 --waiting 200 --audit-rows 5000 --pulls 5 --bulk-requests 1 --bulk-size 100 \\
      --audit-writes 20 --repeat 2
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_national), which it drops
and recreates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_national")
PULL_VILLAGE = "17.04.01.2001"  # Gedung Wani: the 3,000-person village
QUEUE_VILLAGE = "17.04.01.2002"  # the village whose operator has the waiting enrolments
BULK_VILLAGE = "17.04.01.2003"  # where bulk ingest puts its records (the pull village stays 3,000)
CHANGES_PER_PULL = 5


def log(message: str) -> None:
    free = shutil.disk_usage("/").free / 1e9
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {message} (disk free {free:.0f} GB)", flush=True)


def setup_django(province: str | None) -> None:
    from bench.load_areas import recreate_database

    recreate_database(BENCH_URL)
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ["REDIS_URL"] = ""  # tasks in-process: no figure waits on a broker
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghij")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_areas", province=province, stdout=open(os.devnull, "w"))  # noqa: SIM115


# --- timing ------------------------------------------------------------------------------------


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def timed(get: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Milliseconds of `repeat` calls after one warm-up (caches, plans); the last response."""
    response = get()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = get()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (response.status_code, response.content[:300])
    return samples, response


# --- data --------------------------------------------------------------------------------------


def village_codes(limit: int) -> list[str]:
    """Every active village but the three the benchmark fills itself; `limit` > 0 keeps that many
    spread evenly over the list (smoke runs)."""
    from villages.models import Area

    codes = list(
        Area.objects.filter(level="village", active=True)
        .exclude(code__in=(PULL_VILLAGE, QUEUE_VILLAGE, BULK_VILLAGE))
        .order_by("code")
        .values_list("code", flat=True)
    )
    if limit and limit < len(codes):
        step = len(codes) / limit
        codes = [codes[int(i * step)] for i in range(limit)]
    return codes


def fill(codes: list[str], start: int, stop: int, chunk: int) -> float:
    """COPYs workers p{start}..p{stop-1} and their enrolments over `codes`, `chunk` per COPY (one
    transaction each, as a loader would: a COPY of millions keeps millions of deferred checks in
    memory). Answers the seconds."""
    from bench.populate import populate

    started = time.perf_counter()
    for first in range(start, stop, chunk):
        count = min(chunk, stop - first)
        populate(workers=count, id_prefix="p", start=first, codes=codes)
        rate = (first + count - start) / (time.perf_counter() - started)
        log(f"  workers up to {first + count:,}: {rate:,.0f} workers + enrolments/s")
    return time.perf_counter() - started


def settle(tables: tuple[str, ...] = ("workers_worker", "enrolment_enrolment")) -> None:
    """What the database does by itself after a bulk load (autovacuum: visibility map,
    statistics; the checkpoint), done now so that it does not land inside measured requests; and
    the running counts folded, as the beat task does every COVERAGE_COMPACT_SECONDS."""
    from django.db import connection

    from enrolment.reports.services import coverage_compact

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    coverage_compact()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE enrolment_coverage_enrolment")
        cursor.execute("VACUUM ANALYZE enrolment_coverage_worker")
        cursor.execute("CHECKPOINT")


def database_gb() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return cursor.fetchone()[0] / 1e9


def bulk_records(start: int, count: int) -> list[dict]:
    """`count` valid registrations for BULK_VILLAGE; NIK serials from 8001 up, which the COPYed
    people (serials up to 1 + 10,000,000 / 15,000) never reach."""
    from bench.bulk_ingest import records

    def nik(i: int) -> str:
        born = dt.date(1960, 1, 1) + dt.timedelta(days=i % 15000)
        return f"170401{born.day:02d}{born.month:02d}{born.year % 100:02d}{8001 + i // 15000:04d}"

    return records(count, start=start, village=BULK_VILLAGE, id_prefix="bulk", nik_of=nik, phone_prefix="0813")


# --- measurements ------------------------------------------------------------------------------


def incremental_pulls(client, pulls: int, village_workers: int, tag: str) -> list[float]:
    """`pulls` incremental pulls, each after CHANGES_PER_PULL workers of the village changed;
    each pull's timestamp is the next one's cursor, as a device does."""
    from workers.models import Worker

    response = client.get("/api/v1/sync")
    assert response.status_code == 200, response.content[:300]
    cursor = response.json()["timestamp"]
    samples = []
    for i in range(pulls):
        ids = sorted(f"v{(i * CHANGES_PER_PULL + k) % village_workers}" for k in range(CHANGES_PER_PULL))
        Worker.objects.filter(id__in=ids).update(full_name=f"Warga Diubah {tag} {i}")
        started = time.perf_counter()
        response = client.get("/api/v1/sync", {"last_pulled_at": cursor})
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        workers = body["changes"]["workers"]
        assert sorted(r["id"] for r in workers["updated"]) == ids, workers
        assert workers["created"] == [], workers
        assert workers["deleted"] == [], workers
        cursor = body["timestamp"]
    return samples


def forget_earlier_bulk() -> int:
    """Takes the match rows of the bulk records an earlier stage wrote out of the duplicate
    finder's sight (their workers stay); returns how many. bench.bulk_ingest.records gives
    record i and record i + 15,000 the same birth date, the same NIK region + date part, a NIK
    one digit apart, the same mother and alike names: near-duplicates by construction. With
    10 requests a stage, 7,000 of the 10 M stage's 11,000 records were such twins of 1 M stage
    records, so its bulk ingest also scored and stored likely duplicates the 1 M stage never met
    (0.65 x, 2026-12-08). Without those rows each stage's bulk ingest meets the same empty
    village and the figure compares the country's size alone."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM workers_matchname WHERE worker_id LIKE 'bulk-%%'")
        return cursor.rowcount


def bulk_ingest(client, start: int, requests: int, size: int) -> float:
    """Records per second through POST /api/v1/workers/bulk, after one request not timed (warm
    caches); every record must be created. Uses ids `start` .. `start + (requests + 1) * size`."""
    forget_earlier_bulk()
    bodies = [
        json.dumps({"records": bulk_records(start + n * size, size)}).encode() for n in range(requests + 1)
    ]  # built before the clock starts
    elapsed = 0.0
    for n, body in enumerate(bodies):
        started = time.perf_counter()
        response = client.generic("POST", "/api/v1/workers/bulk", body, content_type="application/json")
        if n:
            elapsed += time.perf_counter() - started
        assert response.status_code == 200, response.content[:500]
        summary = response.json()["summary"]
        assert summary.get("created") == size, summary
    return requests * size / elapsed


def audit_writes(actor, count: int, warm_up: int = 20) -> list[float]:
    """Milliseconds of `count` audit writes after `warm_up` not timed (the first statements of a
    process pay for its caches, which would flatter whatever is measured after)."""
    from villages.audit import audit_event

    for n in range(warm_up):
        audit_event(actor, "view", "worker", f"v{n}", area_code=PULL_VILLAGE)
    samples = []
    for n in range(count):
        started = time.perf_counter()
        audit_event(actor, "view", "worker", f"v{n % 1000}", area_code=PULL_VILLAGE)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def fill_audit(rows: int, codes: list[str], months: int = 24) -> float:
    """`rows` audit rows over this month and the `months` before it, one monthly partition each
    (made as `maintain_partitions` would have over those months: the empty catch-all partition
    `_pold` moves to before the first), in time order within each month. Answers the seconds."""
    from django.db import connection
    from django.utils import timezone

    from villages.partitions import _bound, add_months, month_start, partitions

    current = month_start(timezone.now())
    first = add_months(current, -months)
    started = time.perf_counter()
    names = {f"villages_auditevent_p{add_months(first, offset):%Y%m}" for offset in range(months)}
    if not names <= set(partitions("villages_auditevent")):  # not made by an earlier attempt
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM villages_auditevent_pold")
            assert cursor.fetchone()[0] == 0
            cursor.execute("ALTER TABLE villages_auditevent DETACH PARTITION villages_auditevent_pold")
            cursor.execute("DROP TABLE villages_auditevent_pold")
            for offset in range(months):
                month = add_months(first, offset)
                cursor.execute(
                    f"CREATE TABLE villages_auditevent_p{month:%Y%m} PARTITION OF villages_auditevent"
                    " FOR VALUES FROM (%s) TO (%s)",
                    [_bound(month), _bound(add_months(month, 1))],
                )
            cursor.execute(
                "CREATE TABLE villages_auditevent_pold PARTITION OF villages_auditevent"
                " FOR VALUES FROM (MINVALUE) TO (%s)",
                [_bound(first)],
            )
    # The secondary indexes are dropped for the fill and built again after it (a bulk load's
    # usual way: row by row into six indexes ran at about 7,000 rows/s here, over an hour for
    # 30 M); the primary key (id, at), ascending like the rows, stays.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'villages_auditevent'"
            " AND indexname <> 'villages_auditevent_pkey'"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    per_month = rows // (months + 1)
    now = timezone.now()
    for offset in range(months + 1):
        month = add_months(first, offset)
        begin = dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)
        end = now if offset == months else dt.datetime.combine(add_months(month, 1), dt.time(), tzinfo=dt.UTC)
        count = per_month if offset < months else rows - per_month * months
        span = (end - begin).total_seconds()
        with connection.cursor() as cursor:
            # Officials viewing, listing and syncing people of villages all over the country.
            # The villages joined by number (an array subscript walks a text[] from its start:
            # 83,759 codes made that the whole cost of the fill).
            cursor.execute(
                """
WITH village AS (SELECT row_number() OVER (ORDER BY code) - 1 AS k, code FROM unnest(%(codes)s::text[]) AS code)
INSERT INTO villages_auditevent (at, actor_id, actor_username, device, ip, action, object_type, object_id,
                                 area_code, changes, context)
SELECT %(begin)s::timestamptz + (i * %(step)s) * interval '1 second', 1000 + i %% 5000,
       'petugas-' || (i %% 5000), i %% 5000, '10.0.0.1',
       (ARRAY['view', 'list', 'sync_pull', 'update', 'status'])[1 + i %% 5], 'worker',
       'p' || (i::bigint * 7919 %% 10000000), village.code, NULL, '{}'::jsonb
  FROM generate_series(0, %(count)s - 1) AS i JOIN village ON village.k = i %% %(ncodes)s
 ORDER BY i
""",
                {"begin": begin, "step": span / max(count, 1), "codes": codes, "ncodes": len(codes), "count": count},
            )
        log(f"  audit rows of {month:%Y-%m}: {count:,}")
    with connection.cursor() as cursor:
        for name, definition in indexes:
            # pg_indexes gives a partitioned table's index as "ON ONLY" (the parent alone): built
            # on every partition, as the migration made it, it is "ON".
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
            log(f"  audit index {name} built again")
        cursor.execute("VACUUM ANALYZE villages_auditevent")
        cursor.execute("CHECKPOINT")
    return time.perf_counter() - started


def explain_slowest(get: Callable[[], Any], label: str, top: int = 2) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the `top` slowest SELECTs one request runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        get()
    selects = [q for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]
    selects.sort(key=lambda q: float(q["time"]), reverse=True)
    out = [f"== {label}: {len(captured.captured_queries)} statements; the {top} slowest SELECTs"]
    with connection.cursor() as cursor:
        for query in selects[:top]:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            out.append(f"-- {float(query['time']) * 1000:.1f} ms in the request\n{query['sql']}\n{plan}\n")
    return "\n".join(out)


def country_from_village_counts(client):
    """The country report as it was before the province counts: the same request, the village
    counts summed by province (coverage_report's source="counts")."""
    from unittest import mock

    from enrolment.reports import coverage

    real = coverage.coverage_report
    with mock.patch.object(coverage, "coverage_report", lambda **kw: real(**kw, source="counts")):
        return client.get("/api/v1/reports/coverage", {"year": 2026})


def same_report(one, other) -> bool:
    a, b = one.json(), other.json()
    return (a["total"], a["results"]) == (b["total"], b["results"])


def stage_figures(stage: str, pulls: list[float], bulk: float, reads: dict[str, list[float]]) -> None:
    """One stage's figures, logged as soon as they are measured (a run stopped later keeps them)."""
    med = statistics.median
    figures = {
        "pull_p50_p95_p99_ms": [
            round(med(pulls), 1),
            round(percentile(pulls, 0.95), 1),
            round(percentile(pulls, 0.99), 1),
        ],
        "bulk_records_per_s": round(bulk),
        **{f"{name}_median_ms": round(med(samples)) for name, samples in reads.items()},
        "queue_p95_ms": round(percentile(reads["queue"], 0.95)),
    }
    log(f"{stage} figures: {json.dumps(figures)}")


def reuse(args: argparse.Namespace) -> None:
    """--reuse: a database a full run left (--workers people in it), migrated to this code, and
    the figures this code's changes could move measured again: the country report by province
    (province counts) against its baseline in this run (the village counts, as before), bulk
    ingest (its triggers also append the province counts) and the incremental pull."""
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ["REDIS_URL"] = ""
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghij")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from rest_framework.test import APIClient

    from tests.factories import token_for
    from villages.audit import Actor
    from villages.models import User

    started = time.perf_counter()
    call_command("migrate", verbosity=1)
    migrate_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE enrolment_coverage_enrolment_province")
        cursor.execute("VACUUM ANALYZE enrolment_coverage_worker_province")
        cursor.execute("SELECT count(*) FROM workers_worker")
        workers = cursor.fetchone()[0]
    as_admin, puller, bulker, as_viewer = APIClient(), APIClient(), APIClient(), APIClient()
    as_admin.force_authenticate(User.objects.get(username="bench-admin"))
    viewer = User.objects.get(username="bench-viewer")
    as_viewer.force_authenticate(viewer)
    province = viewer.assignments.get().area_id
    puller.credentials(HTTP_AUTHORIZATION=f"Token {token_for(User.objects.get(username='bench-petugas'))}")
    bulker.credentials(HTTP_AUTHORIZATION=f"Token {token_for(User.objects.get(username='bench-bulk'))}")
    operator = User.objects.get(username="bench-operator")
    panel = Client()
    panel.force_login(operator)
    med = statistics.median
    print(f"reuse: {workers:,} workers in the database; migrate {migrate_s:.1f} s", flush=True)

    def show(figure: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        print(f"| {figure} | {value} | {target} | {verdict} | (load {os.getloadavg()[0]:.2f})", flush=True)

    def country_report():
        return as_admin.get("/api/v1/reports/coverage", {"year": 2026})

    def country_from_villages():
        return country_from_village_counts(as_admin)

    def province_report(group_by: str | None = None):
        query = {"area": province, "year": 2026, **({"group_by": group_by} if group_by else {})}
        return as_viewer.get("/api/v1/reports/coverage", query)

    print("| figure | value | target | verdict |\n|---|---|---|---|", flush=True)
    if not args.audit_only:
        after, body = timed(country_report, args.repeat)
        before, body_before = timed(country_from_villages, args.repeat)
        assert same_report(body, body_before)
        show(
            "country report (by province), province counts, median ms",
            f"{med(after):.0f}",
            "<= 2000",
            med(after) <= 2000,
        )
        show("baseline: country report from the village counts, median ms", f"{med(before):.0f}")
        first, body = timed(lambda: puller.get("/api/v1/sync"), args.repeat)
        assert len(body.json()["changes"]["workers"]["created"]) == args.village_workers
        show("first pull (village of the field officer), median ms", f"{med(first):.0f}", "<= 1000", med(first) <= 1000)
        regency, _ = timed(province_report, args.repeat)
        show(
            f"province report ({province}, by regency), median ms", f"{med(regency):.0f}", "<= 300", med(regency) <= 300
        )
        village, _ = timed(lambda: province_report("village"), args.repeat)
        show(f"province report ({province}, by village), median ms", f"{med(village):.0f}")
        queue, _ = timed(lambda: panel.get("/panel/verifikasi/"), args.repeat * 3)
        show(
            "verification queue page, p95 ms",
            f"{percentile(queue, 0.95):.0f}",
            "<= 300",
            percentile(queue, 0.95) <= 300,
        )
        pulls = incremental_pulls(puller, args.pulls, args.village_workers, "reuse")
        show(f"incremental pull p50 / p95 / p99 ({args.pulls} pulls), ms",
             f"{med(pulls):.1f} / {percentile(pulls, 0.95):.1f} / {percentile(pulls, 0.99):.1f}")  # fmt: skip
        bulk = bulk_ingest(bulker, 100_000, args.bulk_requests, args.bulk_size)
        show(f"bulk ingest ({args.bulk_requests} x {args.bulk_size}), records/s", f"{bulk:,.0f}")
        explains = [
            explain_slowest(country_report, "country report (by province), from the province counts"),
            explain_slowest(country_from_villages, "baseline: the country report from the village counts"),
            explain_slowest(lambda: puller.get("/api/v1/sync"), "first pull"),
            explain_slowest(province_report, f"province report ({province}, by regency)"),
            explain_slowest(lambda: panel.get("/panel/verifikasi/"), "verification queue page"),
        ]
        path = Path(args.explain)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(explains) + "\n")
        print(f"EXPLAIN (ANALYZE, BUFFERS): {path}", flush=True)
    if args.audit_rows:
        actor = Actor(user=operator)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM villages_auditevent")
            before_rows = cursor.fetchone()[0]
        small = audit_writes(actor, args.audit_writes)
        show(f"audit write p50 / p95 ms, {before_rows:,} rows in the log",
             f"{med(small):.2f} / {percentile(small, 0.95):.2f}")  # fmt: skip
        fill_s = fill_audit(args.audit_rows, village_codes(0))
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM villages_auditevent")
            rows = cursor.fetchone()[0]
        full = audit_writes(actor, args.audit_writes)
        show(f"audit write p50 / p95 ms, {rows:,} rows in the log (filled in {fill_s:.0f} s)",
             f"{med(full):.2f} / {percentile(full, 0.95):.2f}", f"<= 1.1 x ({med(full) / med(small):.2f} x)",
             med(full) <= 1.1 * med(small))  # fmt: skip


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=10_000_000)
    parser.add_argument("--baseline", type=int, default=1_000_000)
    parser.add_argument("--village-workers", type=int, default=3_000)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--audit-rows", type=int, default=30_000_000)
    parser.add_argument("--province", help="Load only this province's areas (smoke runs).")
    parser.add_argument("--villages-limit", type=int, default=0, help="Spread people over this many villages.")
    parser.add_argument("--pulls", type=int, default=300)
    parser.add_argument("--bulk-requests", type=int, default=5)
    parser.add_argument("--bulk-size", type=int, default=1000)
    parser.add_argument("--audit-writes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=500_000)
    parser.add_argument("--explain", default=str(ROOT / "bench" / "results" / "national_explain.txt"))
    parser.add_argument("--drop", action="store_true", help="Drop the database at the end.")
    parser.add_argument("--reuse", action="store_true", help="Measure again on the database a run left.")
    parser.add_argument("--audit-only", action="store_true", help="With --reuse: only the audit stage.")
    args = parser.parse_args()
    if args.reuse:
        reuse(args)
        return
    special = args.village_workers + args.waiting
    assert args.workers > args.baseline > special, "need --workers > --baseline > village + waiting"

    run_started = time.perf_counter()
    log(f"national: {args.workers:,} workers, baseline {args.baseline:,}, audit {args.audit_rows:,} rows")
    setup_django(args.province)
    from django.db import connection
    from django.test import Client
    from rest_framework.test import APIClient

    from bench.populate import populate
    from tests.factories import token_for
    from villages.audit import Actor
    from villages.models import Area, Assignment, Role, User

    codes = village_codes(args.villages_limit)
    all_villages = Area.objects.filter(level="village").count()
    largest = (
        Area.objects.filter(level="village", code__in=codes).values_list("code", flat=True)
        if args.villages_limit
        else Area.objects.filter(level="village").values_list("code", flat=True)
    )
    by_province: dict[str, int] = {}
    for code in largest:
        by_province[code[:2]] = by_province.get(code[:2], 0) + 1
    province = max(sorted(by_province), key=lambda c: by_province[c])
    log(f"areas loaded: {all_villages:,} villages; people over {len(codes) + 3:,}; largest province {province}")

    # People: n is one index over every prefix, so NIKs never repeat (bench/populate.py).
    populate(workers=args.village_workers, village=PULL_VILLAGE, id_prefix="v", start=0)
    populate(workers=args.waiting, village=QUEUE_VILLAGE, id_prefix="q", start=args.village_workers)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE enrolment_enrolment SET status = 'submitted' WHERE id LIKE 'qe%%'")
    fill_1m_s = fill(codes, special, args.baseline, args.chunk)
    settle()
    log(f"1 M stage loaded: {args.baseline:,} workers in {fill_1m_s:.0f} s, database {database_gb():.1f} GB")

    officer = User.objects.create_user("bench-petugas", password="bench-Petugas-2026", role=Role.FIELD_OFFICER)
    Assignment.objects.create(user=officer, area_id=PULL_VILLAGE)
    bulk_officer = User.objects.create_user("bench-bulk", password="bench-Bulk-2026", role=Role.FIELD_OFFICER)
    Assignment.objects.create(user=bulk_officer, area_id=BULK_VILLAGE)
    operator = User.objects.create_user("bench-operator", password="bench-Oper-2026", role=Role.VILLAGE_OPERATOR)
    Assignment.objects.create(user=operator, area_id=QUEUE_VILLAGE)
    viewer = User.objects.create_user("bench-viewer", password="bench-Lihat-2026", role=Role.VIEWER)
    Assignment.objects.create(user=viewer, area_id=province)
    admin = User.objects.create_user("bench-admin", password="bench-Admin-2026", role=Role.ADMIN, is_staff=True)
    puller, bulker = APIClient(), APIClient()
    puller.credentials(HTTP_AUTHORIZATION=f"Token {token_for(officer, device_id='bench-phone')}")
    bulker.credentials(HTTP_AUTHORIZATION=f"Token {token_for(bulk_officer, device_id='bench-bulk')}")
    as_viewer, as_admin = APIClient(), APIClient()
    as_viewer.force_authenticate(viewer)
    as_admin.force_authenticate(admin)
    panel = Client()
    panel.force_login(operator)

    def first_pull():
        return puller.get("/api/v1/sync")

    def province_report(group_by: str | None = None):
        query = {"area": province, "year": 2026, **({"group_by": group_by} if group_by else {})}
        return as_viewer.get("/api/v1/reports/coverage", query)

    def country_report():
        return as_admin.get("/api/v1/reports/coverage", {"year": 2026})

    def country_from_villages():
        return country_from_village_counts(as_admin)

    def queue_page():
        return panel.get("/panel/verifikasi/")

    def read_paths(stage: str) -> dict[str, list[float]]:
        samples: dict[str, list[float]] = {}
        samples["first"], body = timed(first_pull, args.repeat)
        changes = body.json()["changes"]
        assert len(changes["workers"]["created"]) == args.village_workers, len(changes["workers"]["created"])
        assert len(changes["enrolments"]["created"]) == args.village_workers
        samples["province"], body = timed(province_report, args.repeat)
        assert body.json()["total"]["registered_workers"] > 0
        samples["province_village"], _ = timed(lambda: province_report("village"), args.repeat)
        samples["country"], body = timed(country_report, args.repeat)
        samples["country_villages"], before = timed(country_from_villages, args.repeat)
        total = body.json()["total"]
        assert total["registered_workers"] >= (args.baseline if stage == "1M" else args.workers), total
        assert same_report(body, before)
        samples["queue"], _ = timed(queue_page, args.repeat * 3)
        return samples

    # --- stage 1: 1 M ------------------------------------------------------------------------
    actor = Actor(user=operator)
    audit_empty = audit_writes(actor, args.audit_writes)  # first: the audit log is still (nearly) empty
    log(f"1 M: audit write on the empty log p50 {statistics.median(audit_empty):.2f} ms")
    pulls_1m = incremental_pulls(puller, args.pulls, args.village_workers, "1M")
    bulk_1m = bulk_ingest(bulker, 0, args.bulk_requests, args.bulk_size)
    reads_1m = read_paths("1M")
    stage_figures("1 M", pulls_1m, bulk_1m, reads_1m)
    load_1m = os.getloadavg()
    log(f"1 M stage measured; load average {load_1m[0]:.2f}")

    # --- stage 2: 10 M -----------------------------------------------------------------------
    fill_10m_s = fill(codes, args.baseline, args.workers, args.chunk)
    settle()
    log(
        f"10 M stage loaded: {args.workers - args.baseline:,} more in {fill_10m_s:.0f} s, database {database_gb():.1f} GB"
    )
    pulls_10m = incremental_pulls(puller, args.pulls, args.village_workers, "10M")
    bulk_10m = bulk_ingest(bulker, (args.bulk_requests + 1) * args.bulk_size, args.bulk_requests, args.bulk_size)
    reads_10m = read_paths("10M")
    stage_figures("10 M", pulls_10m, bulk_10m, reads_10m)
    load_10m = os.getloadavg()
    log(f"10 M stage measured; load average {load_10m[0]:.2f}")

    from workers.models import Worker

    cursor = puller.get("/api/v1/sync").json()["timestamp"]
    Worker.objects.filter(id__in=[f"v{k}" for k in range(CHANGES_PER_PULL)]).update(full_name="Warga Diubah Explain")
    explains = [
        explain_slowest(
            lambda: puller.get("/api/v1/sync", {"last_pulled_at": cursor}),
            f"incremental pull ({CHANGES_PER_PULL} changes since the cursor)",
            top=3,
        ),
        explain_slowest(first_pull, "first pull of the 3,000-person village"),
        explain_slowest(province_report, f"province report ({province}, by regency)"),
        explain_slowest(country_report, "country report (by province)"),
        explain_slowest(country_from_villages, "baseline: the country report from the village counts"),
        explain_slowest(queue_page, "verification queue page"),
    ]

    # --- stage 3: 30 M audit rows ------------------------------------------------------------
    audit_fill_s = fill_audit(args.audit_rows, codes)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM villages_auditevent")
        audit_count = cursor.fetchone()[0]
    log(f"audit log filled: {audit_count:,} rows in {audit_fill_s:.0f} s, database {database_gb():.1f} GB")
    audit_full = audit_writes(actor, args.audit_writes)
    load_end = os.getloadavg()
    size_gb = database_gb()

    explain_path = Path(args.explain)
    explain_path.parent.mkdir(parents=True, exist_ok=True)
    explain_path.write_text("\n\n".join(explains) + "\n")

    # --- the table ---------------------------------------------------------------------------
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    p99_1m, p99_10m = percentile(pulls_1m, 0.99), percentile(pulls_10m, 0.99)
    med = statistics.median
    first_ms = med(reads_10m["first"])
    province_ms = med(reads_10m["province"])
    country_ms = med(reads_10m["country"])
    queue_ms = percentile(reads_10m["queue"], 0.95)
    audit_empty_ms, audit_full_ms = med(audit_empty), med(audit_full)
    print()
    print(
        f"national: {args.workers:,} workers + enrolments over {len(codes) + 3:,} villages "
        f"({all_villages:,} loaded), audit log {audit_count:,} rows; database {size_gb:.1f} GB; "
        f"load average (1 min) {load_1m[0]:.2f} at 1 M, {load_10m[0]:.2f} at 10 M, {load_end[0]:.2f} at the end; "
        f"run {time.perf_counter() - run_started:.0f} s"
    )
    print(f"COPY: {args.baseline - special:,} in {fill_1m_s:.0f} s, {args.workers - args.baseline:,} in "
          f"{fill_10m_s:.0f} s ({(args.workers - args.baseline) / fill_10m_s:,.0f} workers + enrolments/s); "
          f"audit rows in {audit_fill_s:.0f} s")  # fmt: skip
    print("| figure | 1 M (baseline) | 10 M | target | verdict |")
    print("|---|---|---|---|---|")
    print(
        f"| incremental pull p99 ({args.pulls} pulls, {CHANGES_PER_PULL} changes each), ms | {p99_1m:.1f} | "
        f"{p99_10m:.1f} | <= 1.2 x ({p99_10m / p99_1m:.2f} x) | {verdict(p99_10m <= 1.2 * p99_1m)} |"
    )
    print(
        f"| incremental pull p50 / p95, ms | {med(pulls_1m):.1f} / {percentile(pulls_1m, 0.95):.1f} | "
        f"{med(pulls_10m):.1f} / {percentile(pulls_10m, 0.95):.1f} | | |"
    )
    print(
        f"| bulk ingest ({args.bulk_requests} x {args.bulk_size}), records/s | {bulk_1m:,.0f} | {bulk_10m:,.0f} | "
        f">= 0.9 x ({bulk_10m / bulk_1m:.2f} x) | {verdict(bulk_10m >= 0.9 * bulk_1m)} |"
    )
    print(
        f"| first pull, {args.village_workers:,} workers + enrolments, median ms | {med(reads_1m['first']):.0f} | "
        f"{first_ms:.0f} | <= 1000 | {verdict(first_ms <= 1000)} |"
    )
    print(
        f"| province report ({province}, by regency), median ms | {med(reads_1m['province']):.0f} | "
        f"{province_ms:.0f} | <= 300 | {verdict(province_ms <= 300)} |"
    )
    print(
        f"| province report ({province}, by village, {by_province[province]:,} rows), median ms | "
        f"{med(reads_1m['province_village']):.0f} | {med(reads_10m['province_village']):.0f} | | |"
    )
    print(
        f"| country report (by province), median ms | {med(reads_1m['country']):.0f} | {country_ms:.0f} | "
        f"<= 2000 | {verdict(country_ms <= 2000)} |"
    )
    print(
        f"| baseline: country report from the village counts, median ms | {med(reads_1m['country_villages']):.0f} | "
        f"{med(reads_10m['country_villages']):.0f} | | |"
    )
    print(
        f"| verification queue page ({args.waiting:,} waiting), p95 ms | "
        f"{percentile(reads_1m['queue'], 0.95):.0f} | {queue_ms:.0f} | <= 300 | {verdict(queue_ms <= 300)} |"
    )
    print(
        f"| audit write ({args.audit_writes} writes), p50 / p95 ms: empty log | {audit_empty_ms:.2f} / "
        f"{percentile(audit_empty, 0.95):.2f} | {audit_count:,} rows: {audit_full_ms:.2f} / "
        f"{percentile(audit_full, 0.95):.2f} | <= 1.1 x ({audit_full_ms / audit_empty_ms:.2f} x) | "
        f"{verdict(audit_full_ms <= 1.1 * audit_empty_ms)} |"
    )
    print(f"EXPLAIN (ANALYZE, BUFFERS): {explain_path}")
    if args.drop:
        from django.db import connections

        from bench.load_areas import recreate_database

        connections.close_all()
        recreate_database(BENCH_URL)  # leaves an empty database of that name: the disk given back
        log("database dropped (recreated empty)")


if __name__ == "__main__":
    main()
