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
   lookups, registrations and edits): first the baseline, --baseline-users phones (own devices,
   1-3 s between actions) for --baseline-seconds, then the load, --users phones (--wait seconds
   between actions) for --minutes, against the same server and data;
5. prints for each run and endpoint the requests, failures and p50/p95/p99 from Locust's CSV, the error rate,
   the machine's load average before and after, and checks the database against what the phones
   say they stored: every created worker and enrolment is there exactly once (ids and NIKs), no
   record the phones never sent, and each pushed record's version is 1 + the edits stored.

Exit status 0 only with no failed request and every check passed.

Usage:
  .venv/bin/python bench/load_test.py                              # 1,000 devices, 10 minutes
  .venv/bin/python bench/load_test.py --users 50 --minutes 1       # a short try
  .venv/bin/python -m pytest -p no:cacheprovider -n 0 tests/test_load_smoke.py   # 5 phones, 15 s
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench_load), which
it drops and recreates. Files go to --out (default var/load/): per run NAME (baseline, load)
NAME_devices.json (the tokens), NAME_stats.csv and NAME_failures.csv (Locust), NAME_ledger.json
(what the phones stored), NAME.log (Locust's summary); gunicorn.log (the access log).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    parser.add_argument("--spawn-rate", type=float, default=5, help="devices started per second")
    parser.add_argument("--minutes", type=float, default=10, help="how long Locust runs (spawning included)")
    parser.add_argument("--villages", type=int, default=200, help="villages the devices are spread over")
    parser.add_argument("--stored-workers", type=int, default=30_000, help="workers stored before the run")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn worker processes (2 x cores + 1)")
    parser.add_argument("--wait", type=float, nargs=2, default=(30, 90), metavar=("MIN", "MAX"),
                        help="seconds a phone waits between actions")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "load")
    parser.add_argument("--database-url", default=BENCH_URL)
    parser.add_argument("--baseline-users", type=int, default=5, help="devices of the baseline run")
    parser.add_argument("--baseline-seconds", type=float, default=60, help="the baseline run's length (0: none)")
    return parser.parse_args(argv)


@dataclass(frozen=True)
class Phase:
    """One Locust run: its own devices, CSV (`name`_stats.csv) and ledger."""

    name: str
    users: int
    spawn_rate: float
    seconds: float
    wait: tuple[float, float]


def prepare(args: argparse.Namespace, count: int) -> list[dict[str, Any]]:
    """Stored workers, then `count` field officers, one device each, over evenly spaced villages."""
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
        [User(username=f"load-petugas-{n}", role=Role.FIELD_OFFICER, password="!") for n in range(count)]
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


def run_locust(args: argparse.Namespace, phase: Phase, base: str, env: dict[str, str]) -> int:
    locust_env = {
        **env,
        "LOAD_DEVICES": str(args.out / f"{phase.name}_devices.json"),
        "LOAD_LEDGER": str(args.out / f"{phase.name}_ledger.json"),
        "LOAD_WAIT_MIN": str(phase.wait[0]),
        "LOAD_WAIT_MAX": str(phase.wait[1]),
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
        "--users", str(phase.users), "--spawn-rate", str(phase.spawn_rate), "--run-time", f"{round(phase.seconds)}s",
        # A phone finishes the sync it is in when time is up, so the ledger knows what it stored.
        "--stop-timeout", "60", "--csv", str(args.out / phase.name), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    with (args.out / f"{phase.name}.log").open("wb") as log:
        return subprocess.run(
            command, cwd=ROOT, env=locust_env, stdout=log, stderr=subprocess.STDOUT, check=False
        ).returncode


def read_stats(out: Path, phase: Phase) -> dict[str, dict[str, str]]:
    with (out / f"{phase.name}_stats.csv").open() as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


ACCESS_LINE = re.compile(r'"(GET|POST) ([^ ?]+)(\?\S*)? HTTP/[^"]*" (\d{3}) \S+ (\d+)ms')


def server_times(log: Path, skip: int) -> tuple[dict[str, list[int]], int]:
    """Milliseconds each request spent in a gunicorn worker (the access log's %(M)s), by the
    phones' endpoint names, from line `skip` on; and the log's length. Locust's figures add the
    wait in gunicorn's queue and the network; these are the server's own share."""
    times: dict[str, list[int]] = {}
    lines = log.read_text(errors="replace").splitlines()
    for line in lines[skip:]:
        match = ACCESS_LINE.search(line)
        if not match or not match.group(2).startswith("/api/"):
            continue
        method, path, query, ms = match.group(1), match.group(2), match.group(3) or "", int(match.group(5))
        name = f"{method} {path}"
        if name == "GET /api/v1/sync":
            name += " (incremental)" if "last_pulled_at=" in query else " (first pull)"
        times.setdefault(name, []).append(ms)
    return times, len(lines)


def percentile(values: list[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0


def merged_ledger(out: Path, phases: list[Phase]) -> dict[str, Any]:
    """The phases' ledgers as one: their phones are distinct, so are the ids they made."""
    ledger: dict[str, Any] = {
        "created_workers": [],
        "created_enrolments": [],
        "edits": {},
        "in_flight": [],
        "conflicts": 0,
    }
    for phase in phases:
        part = json.loads((out / f"{phase.name}_ledger.json").read_text())
        for key in ("created_workers", "created_enrolments", "in_flight"):
            ledger[key] += part[key]
        for worker_id, n in part["edits"].items():
            ledger["edits"][worker_id] = ledger["edits"].get(worker_id, 0) + n
        ledger["conflicts"] += part["conflicts"]
    return ledger


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
    phases = [Phase("load", args.users, args.spawn_rate, args.minutes * 60, tuple(args.wait))]
    if args.baseline_seconds:
        # The same endpoints with a handful of phones, on the same server and data, just before.
        phases.insert(0, Phase("baseline", args.baseline_users, args.baseline_users, args.baseline_seconds, (1, 3)))
    for phase in phases:
        for suffix in ("_stats.csv", "_ledger.json"):
            (args.out / f"{phase.name}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    env = django_env(args.database_url)
    # The personal-data keys bench.settings put in this process, so the server decrypts what
    # bench.populate encrypted.
    env.update({k: os.environ[k] for k in ("FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY")})
    devices = prepare(args, sum(phase.users for phase in phases))
    taken = 0
    for phase in phases:
        (args.out / f"{phase.name}_devices.json").write_text(json.dumps(devices[taken : taken + phase.users]))
        taken += phase.users
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    connection.close()
    print(f"prepared in {time.perf_counter() - started:.0f} s: {args.stored_workers:,} stored workers, "
          f"{len(devices):,} devices over {min(args.villages, len(devices))} villages; gunicorn {args.workers} workers")  # fmt: skip

    codes, loads, stats, served = {}, {}, {}, {}
    logged = 0
    with gunicorn(env, args.workers, args.out) as base:
        _, logged = server_times(args.out / "gunicorn.log", 0)
        for phase in phases:
            before = os.getloadavg()
            codes[phase.name] = run_locust(args, phase, base, env)
            loads[phase.name] = (before, os.getloadavg())
            stats[phase.name] = read_stats(args.out, phase)
            served[phase.name], logged = server_times(args.out / "gunicorn.log", logged)

    failed = 0
    for phase in phases:
        rows = stats[phase.name]
        print(f"\n{phase.name}: {phase.users:,} devices, spawn {phase.spawn_rate:g}/s, {phase.seconds:g} s, "
              f"wait {phase.wait[0]:g}-{phase.wait[1]:g} s (Locust exit {codes[phase.name]})")  # fmt: skip
        print(f"{'endpoint':36} {'requests':>8} {'failures':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>6}"
              f" | server p50 p95 ms")  # fmt: skip
        for row in rows.values():
            # The log cannot tell the two lookups apart (same URL): both show the pair's figures.
            own = served[phase.name].get(row["Name"]) or served[phase.name].get(row["Name"].split(" (")[0], [])
            if row["Name"] == "Aggregated":
                own = [ms for values in served[phase.name].values() for ms in values]
            print(f"{row['Name']:36} {row['Request Count']:>8} {row['Failure Count']:>8} {row['50%']:>7} "
                  f"{row['95%']:>7} {row['99%']:>7} {float(row['Requests/s']):6.1f} | "
                  f"{percentile(own, 0.5):>6} {percentile(own, 0.95):>6}")  # fmt: skip
        total, failures = int(rows["Aggregated"]["Request Count"]), int(rows["Aggregated"]["Failure Count"])
        failed += failures + (codes[phase.name] != 0) + (total == 0)
        print(f"error rate: {failures} / {total} = {failures / max(total, 1):.4%}")
        before, after = loads[phase.name]
        print(f"load average (1/5/15 min) before: {' '.join(f'{x:.2f}' for x in before)}, "
              f"after: {' '.join(f'{x:.2f}' for x in after)}")  # fmt: skip
        failures_csv = args.out / f"{phase.name}_failures.csv"
        if failures and failures_csv.exists():
            print(failures_csv.read_text()[:3000])

    ledger = merged_ledger(args.out, phases)
    problems = check_database(ledger, args.stored_workers)
    print(f"\ndatabase: {len(ledger['created_workers']):,} workers and {len(ledger['created_enrolments']):,} "
          f"enrolments pushed, {sum(ledger['edits'].values()):,} edits of {len(ledger['edits']):,} workers, "
          f"{ledger['conflicts']} sync conflicts resolved, {len(ledger['in_flight'])} ids in flight at the stop")  # fmt: skip
    for problem in problems:
        print(f"  FAILED: {problem}")
    if not problems:
        print("  every pushed record stored exactly once, versions = 1 + edits: passed")
    return 0 if not failed and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
