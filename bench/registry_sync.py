"""Benchmark: the registry sync of Bengkulu's 80,418 workers (the province's 2025 figure).

80,418 verified enrolments (bench/populate.py, then set to `verified`) are synced by
`manage.py sync_registry --wait` (claim, send, write back; the same services the Celery tasks
call) against the registry stub as its own process over HTTP:
  latency   the stub adds 50 ms to every call (a registry across the country),
  local     the same stub with no added latency,
measured in the same run. Between runs the enrolments go back to `verified` and the stub starts
over with an empty state. Each run checks that all 80,418 ended `active` and that the stub
counted exactly one registration per enrolment.

The registry's own processing time (its Server-Timing header, summed over the batches) says how
much time the registry itself spent, and "our CPU" is this process's CPU time (claiming, building
batches, parsing answers, writing results; PostgreSQL's own work is in its processes). If the
run without added latency is much faster, the registry is the bottleneck; if both take about
as long, our side is. Runs alternate (latency, local, latency, …) and the median is shown.

Target (issue 5): <= 60 s with 50 ms latency on the 2-core development machine.

Usage: .venv/bin/python bench/registry_sync.py [--records 80418] [--concurrency 4] [--latency-ms 50] [--repeat 3]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_registry_bench), which
it drops and recreates.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_areas import recreate_database  # noqa: E402

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_registry_bench")
API_KEY, PARTNER_ID = "bench-registry-key", "bench-partner"


def start_stub(data_dir: Path, latency_ms: int) -> tuple[subprocess.Popen, str]:
    port_file = data_dir / "port"
    port_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "registry_stub", "--port", "0", "--port-file", str(port_file),
            "--data-dir", str(data_dir / "state"), "--api-key", API_KEY, "--partner-id", PARTNER_ID,
            "--latency-ms", str(latency_ms), "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the registry stub did not start")
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{int(port_file.read_text())}"


def reset_to_verified() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE enrolment_registrybatchitem, enrolment_registrybatch, villages_auditevent")
        cursor.execute(
            "UPDATE enrolment_enrolment SET status = 'verified', status_reason = '', registry_number = '',"
            " registry_status = '', registry_status_date = NULL, synced_at = NULL"
        )
        # What autovacuum does within a minute of a bulk change; without fresh statistics the
        # planner may start the claim's join from the workers and sort every verified row.
        cursor.execute("VACUUM ANALYZE enrolment_enrolment")
        cursor.execute("ANALYZE workers_worker")


def run(records: int, latency_ms: int, concurrency: int) -> dict:
    import httpx
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Sum

    from enrolment.models import Enrolment, Status
    from enrolment.registry.models import RegistryBatch

    reset_to_verified()
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        stub, url = start_stub(Path(tmp), latency_ms)
        try:
            settings.REGISTRY_URL = url
            started, cpu = time.perf_counter(), time.process_time()
            call_command("sync_registry", wait=True, concurrency=concurrency, stdout=open(os.devnull, "w"))  # noqa: SIM115
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            stats = httpx.get(f"{url}/_stub/stats", timeout=60).json()
        finally:
            stub.terminate()
            stub.wait(10)
    active = Enrolment.objects.filter(status=Status.ACTIVE).count()
    per_ref = stats["registrations_per_ref"]
    if active != records or len(per_ref) != records or stats["refs_registered_more_than_once"]:
        raise SystemExit(
            f"wrong result: {active} active, {len(per_ref)} registered, {stats['refs_registered_more_than_once'][:5]}"
        )
    batches = RegistryBatch.objects.aggregate(registry_ms=Sum("registry_ms"), attempts=Sum("attempts"))
    return {
        "seconds": elapsed,
        "rate": records / elapsed,
        "batches": RegistryBatch.objects.count(),
        "calls": batches["attempts"],
        "registry_s": (batches["registry_ms"] or 0) / 1000,
        "cpu_s": cpu,
    }


def _median_run(values: list[dict]) -> dict:
    middle = statistics.median_low(v["seconds"] for v in values)
    return next(v for v in values if v["seconds"] == middle)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=80_418)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    recreate_database(BENCH_URL)
    os.environ.update(
        {
            "DATABASE_URL": BENCH_URL,
            "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghij",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
            "REGISTRY_API_KEY": API_KEY,
            "REGISTRY_PARTNER_ID": PARTNER_ID,
            "REGISTRY_URL": "http://127.0.0.1:9",  # replaced by each run's stub
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    from bench.populate import populate

    call_command("migrate", verbosity=0)
    call_command("load_areas", province="17", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    started = time.perf_counter()
    populate(workers=args.records)
    print(f"populated {args.records:,} workers and enrolments in {time.perf_counter() - started:.1f} s")

    local = "no added latency"
    slow = f"latency {args.latency_ms} ms"
    runs: dict[str, list[dict]] = {slow: [], local: []}
    for _ in range(args.repeat):  # alternated, so that both see the same machine
        runs[slow].append(run(args.records, args.latency_ms, args.concurrency))
        runs[local].append(run(args.records, 0, args.concurrency))
    results = {name: _median_run(values) for name, values in runs.items()}
    print(
        f"registry sync: {args.records:,} enrolments, batches of 1,000, {args.concurrency} sent at once, "
        f"stub over HTTP on loopback, median of {args.repeat}"
    )
    print(f"{'registry':<18} {'seconds':>8} {'records/s':>10} {'calls':>6} {'registry busy s':>16} {'our CPU s':>10}")
    for name, r in results.items():
        print(
            f"{name:<18} {r['seconds']:>8.1f} {r['rate']:>10,.0f} {r['calls']:>6} {r['registry_s']:>16.1f}"
            f" {r['cpu_s']:>10.1f}"
        )
    for name, values in runs.items():
        seconds = ", ".join(f"{v['seconds']:.1f}" for v in values)
        print(f"  {name}: runs {seconds} s")
    with_latency, without = results[slow]["seconds"], results[local]["seconds"]
    print(
        f"added latency costs {with_latency - without:+.1f} s ({with_latency / without:.2f}x); "
        f"target <= 60 s with latency: {'met' if with_latency <= 60 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
