"""Load test (issue 17): field devices pulling and pushing through gunicorn, driven by Locust.

What it does, in one run:
1. recreates its own database (bench.harness.django_env: migrated, Bengkulu's areas loaded) and
   stores --stored-workers workers with an enrolment each, spread over all of Bengkulu's villages
   (bench.populate, COPY);
2. makes --users field officers, one device token each, spread over --villages villages;
3. starts the service the way production runs it: `gunicorn -c deploy/gunicorn.conf.py
   config.wsgi` with --workers processes, the production settings (config.settings, throttles
   on), no broker (tasks in-process);
4. runs Locust headless (bench/load/locustfile.py: each user one phone, WatermelonDB sync, NIK
   lookups, registrations and edits, --wait seconds between actions) for --minutes;
5. prints per endpoint the requests, failures and p50/p95/p99 from Locust's CSV, the error rate,
   the machine's load average before and after, and checks the database against what the phones
   say they stored: every created worker and enrolment is there exactly once (ids and NIKs), no
   record the phones never sent, and each pushed record's version is 1 + the edits stored.

Exit status 0 only with no failed request and every check passed.

Usage:
  .venv/bin/python bench/load_test.py                              # 1,000 devices, 10 minutes
  .venv/bin/python bench/load_test.py --users 50 --minutes 1       # a short try
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench_load), which
it drops and recreates. Files (device tokens, Locust CSV, the server's log) go to --out
(default var/load/).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import django_env, free_port  # noqa: E402

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_bench_load")
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000, help="simulated devices (one officer and token each)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="devices started per second")
    parser.add_argument("--minutes", type=float, default=10, help="how long Locust runs (spawning included)")
    parser.add_argument("--villages", type=int, default=200, help="villages the devices are spread over")
    parser.add_argument("--stored-workers", type=int, default=30_000, help="workers stored before the run")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn worker processes (2 x cores + 1)")
    parser.add_argument("--wait", type=float, nargs=2, default=(20, 40), metavar=("MIN", "MAX"),
                        help="seconds a phone waits between actions")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "load")
    parser.add_argument("--database-url", default=BENCH_URL)
    return parser.parse_args(argv)


def prepare(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Stored workers, then one field officer per device over evenly spaced villages."""
    from bench.populate import populate
    from villages.models import Area, Assignment, Device, DeviceToken, Role, User

    populate(workers=args.stored_workers, id_prefix="s")
    codes = list(
        Area.objects.filter(code__startswith="17.", level="village").order_by("code").values_list("code", flat=True)
    )
    step = max(1, len(codes) // args.villages)
    chosen = codes[::step][: args.villages]
    officers = User.objects.bulk_create(
        # No password: the phones get tokens minted here (a login per device would measure
        # PBKDF2 and the login throttle, not sync).
        [User(username=f"load-petugas-{n}", role=Role.FIELD_OFFICER, password="!") for n in range(args.users)]
    )
    Assignment.objects.bulk_create(
        [Assignment(user=officer, area_id=chosen[n % len(chosen)]) for n, officer in enumerate(officers)]
    )
    devices = []
    for n, officer in enumerate(officers):
        device = Device.objects.create(user=officer, device_id=f"load-phone-{n}", name=f"Phone {n}")
        _instance, token = DeviceToken.objects.create(user=officer, device=device, expiry=None)
        devices.append({"index": n, "village": chosen[n % len(chosen)], "token": token})
    return devices


@contextmanager
def gunicorn(env: dict[str, str], workers: int, out: Path) -> Iterator[str]:
    """The service as deployed (deploy/gunicorn.conf.py), its access log in out/gunicorn.log."""
    import httpx

    port = free_port()
    log = (out / "gunicorn.log").open("wb")
    server_env = {
        **env,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(out / "metrics"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({process.returncode}); see {out / 'gunicorn.log'}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def run_locust(args: argparse.Namespace, base: str, env: dict[str, str]) -> int:
    locust_env = {
        **env,
        "LOAD_DEVICES": str(args.out / "devices.json"),
        "LOAD_LEDGER": str(args.out / "ledger.json"),
        "LOAD_WAIT_MIN": str(args.wait[0]),
        "LOAD_WAIT_MAX": str(args.wait[1]),
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
        "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time", f"{round(args.minutes * 60)}s",
        # A phone finishes the sync it is in when time is up, so the ledger knows what it stored.
        "--stop-timeout", "60", "--csv", str(args.out / "locust"), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    with (args.out / "locust.log").open("wb") as log:
        return subprocess.run(
            command, cwd=ROOT, env=locust_env, stdout=log, stderr=subprocess.STDOUT, check=False
        ).returncode


def read_stats(out: Path) -> list[dict[str, str]]:
    with (out / "locust_stats.csv").open() as f:
        return list(csv.DictReader(f))


def check_database(ledger: dict[str, Any], stored_workers: int) -> list[str]:
    """What the phones stored against the database; returns the problems found (none: passed)."""
    from django.db.models import Count

    from enrolment.models import Enrolment
    from workers.models import Worker

    problems = []
    in_flight = set(ledger["in_flight"])
    new_workers = Worker.objects.exclude(id__startswith="s")
    new_ids = set(new_workers.values_list("id", flat=True))
    created = set(ledger["created_workers"])
    if missing := created - new_ids:
        problems.append(f"{len(missing)} pushed workers not stored, e.g. {sorted(missing)[:5]}")
    if unknown := new_ids - created - in_flight:
        problems.append(f"{len(unknown)} workers stored that no phone pushed, e.g. {sorted(unknown)[:5]}")
    twice = new_workers.values("nik_bi").annotate(n=Count("id")).filter(n__gt=1).count()
    if twice:
        problems.append(f"{twice} NIKs stored more than once")
    if Worker.objects.filter(id__startswith="s").count() != stored_workers:
        problems.append("the stored workers' count changed")
    new_enrolments = set(Enrolment.objects.exclude(id__startswith="s").values_list("id", flat=True))
    enrolled = set(ledger["created_enrolments"])
    if missing := enrolled - new_enrolments:
        problems.append(f"{len(missing)} pushed enrolments not stored, e.g. {sorted(missing)[:5]}")
    if unknown := new_enrolments - enrolled - in_flight:
        problems.append(f"{len(unknown)} enrolments stored that no phone pushed, e.g. {sorted(unknown)[:5]}")
    edits: dict[str, int] = ledger["edits"]
    checked = (created | set(edits)) - in_flight
    wrong = [
        (worker_id, version)
        for worker_id, version in Worker.objects.filter(id__in=checked).values_list("id", "version")
        if version != 1 + edits.get(worker_id, 0)
    ]
    if wrong:
        problems.append(f"{len(wrong)} workers whose version is not 1 + their edits, e.g. {wrong[:5]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ("locust_stats.csv", "ledger.json"):
        (args.out / name).unlink(missing_ok=True)
    started = time.perf_counter()
    env = django_env(args.database_url)
    # The personal-data keys bench.settings put in this process, so the server decrypts what
    # bench.populate encrypted.
    env.update({k: os.environ[k] for k in ("FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY")})
    devices = prepare(args)
    (args.out / "devices.json").write_text(json.dumps(devices))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    connection.close()
    print(f"prepared in {time.perf_counter() - started:.0f} s: {args.stored_workers:,} stored workers, "
          f"{args.users:,} devices over {min(args.villages, args.users)} villages")  # fmt: skip

    load_before = os.getloadavg()
    with gunicorn(env, args.workers, args.out) as base:
        code = run_locust(args, base, env)
    load_after = os.getloadavg()

    rows = read_stats(args.out)
    print(f"\nLocust: {args.users:,} devices, spawn {args.spawn_rate:g}/s, {args.minutes:g} min, "
          f"wait {args.wait[0]:g}-{args.wait[1]:g} s; gunicorn {args.workers} workers (exit {code})")  # fmt: skip
    print(f"{'endpoint':40} {'requests':>9} {'failures':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>6}")
    total = failures = 0
    for row in rows:
        print(f"{row['Name']:40} {row['Request Count']:>9} {row['Failure Count']:>8} {row['50%']:>7} "
              f"{row['95%']:>7} {row['99%']:>7} {float(row['Requests/s']):6.1f}")  # fmt: skip
        if row["Name"] == "Aggregated":
            total, failures = int(row["Request Count"]), int(row["Failure Count"])
    print(f"error rate: {failures} / {total} = {failures / max(total, 1):.4%}")
    print(f"load average (1/5/15 min) before: {' '.join(f'{x:.2f}' for x in load_before)}, "
          f"after: {' '.join(f'{x:.2f}' for x in load_after)}")  # fmt: skip
    failures_csv = args.out / "locust_failures.csv"
    if failures and failures_csv.exists():
        print(failures_csv.read_text()[:3000])

    ledger = json.loads((args.out / "ledger.json").read_text())
    problems = check_database(ledger, args.stored_workers)
    print(f"database: {len(ledger['created_workers']):,} workers and {len(ledger['created_enrolments']):,} enrolments "
          f"pushed, {sum(ledger['edits'].values()):,} edits of {len(ledger['edits']):,} workers, "
          f"{ledger['conflicts']} sync conflicts resolved, {len(ledger['in_flight'])} ids in flight at the stop")  # fmt: skip
    for problem in problems:
        print(f"  FAILED: {problem}")
    if not problems:
        print("  every pushed record stored exactly once, versions = 1 + edits: passed")
    return 0 if code == 0 and failures == 0 and not problems and total > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
