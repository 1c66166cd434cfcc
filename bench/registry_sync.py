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
much of the wall time the registry itself spent; with no added latency the rest is our code
(claiming, building batches, writing results, auditing) and the transfer.

Target (issue 5): <= 60 s with 50 ms latency on the 2-core development machine.

Usage: .venv/bin/python bench/registry_sync.py [--records 80418] [--concurrency 4] [--latency-ms 50]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_registry_bench), which
it drops and recreates.
"""

from __future__ import annotations

import argparse
import os
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
        cursor.execute("VACUUM ANALYZE enrolment_enrolment")


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
            started = time.perf_counter()
            call_command("sync_registry", wait=True, concurrency=concurrency, stdout=open(os.devnull, "w"))  # noqa: SIM115
            elapsed = time.perf_counter() - started
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
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=80_418)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=50)
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

    results = {
        f"latency {args.latency_ms} ms": run(args.records, args.latency_ms, args.concurrency),
        "no added latency": run(args.records, 0, args.concurrency),
    }
    print(
        f"registry sync: {args.records:,} enrolments, batches of 1,000, {args.concurrency} sent at once, "
        "stub over HTTP on loopback"
    )
    print(f"{'registry':<18} {'seconds':>8} {'records/s':>10} {'batches':>8} {'calls':>6} {'registry busy s':>16}")
    for name, r in results.items():
        print(
            f"{name:<18} {r['seconds']:>8.1f} {r['rate']:>10,.0f} {r['batches']:>8} {r['calls']:>6} {r['registry_s']:>16.1f}"
        )
    slow = results[f"latency {args.latency_ms} ms"]["seconds"]
    fast = results["no added latency"]["seconds"]
    print(
        f"added latency costs {slow - fast:.1f} s ({slow / fast:.2f}x); target <= 60 s: {'met' if slow <= 60 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
