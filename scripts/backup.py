#!/usr/bin/env python3
"""Backups that are known to restore.

    scripts/backup.py dump  [--dir var/backups]          # one consistent pg_dump + its row counts
    scripts/backup.py drill [--dump FILE] [--dir ...]    # restore into a fresh cluster and check it

`dump` runs pg_dump (custom format, compressed) of DATABASE_URL inside an exported snapshot and,
in the same snapshot, counts the rows of every table, so the manifest beside the dump states
exactly what the dump holds: `<name>.dump` and `<name>.json`.

`drill` (the restore drill; run it after every backup, it is cheap) takes the newest dump (or
--dump), makes a brand-new PostgreSQL cluster on a free local port (initdb, as the postgres user
when run as root), restores the dump into it with pg_restore, then, against the restored database:
`manage.py migrate --check` (no migration missing or unapplied), `manage.py check`, a smoke test
(the service answers /readyz, the audit log's partitions and append-only trigger came back, the
areas are there) and compares every table's row count with the manifest. It stops and removes
the cluster whatever happens, prints a JSON report and exits non-zero on any difference.

For point-in-time recovery, pg_basebackup with WAL archiving is the other half: docs/operations.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

COUNT_TABLES = (
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"
)


def row_counts(conn: Any) -> dict[str, int]:
    tables = [name for (name,) in conn.execute(COUNT_TABLES).fetchall()]
    return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}  # noqa: S608


def dump(database_url: str, directory: Path) -> Path:
    import psycopg

    directory.mkdir(parents=True, exist_ok=True)
    name = f"enrolment-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    target = directory / f"{name}.dump"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        counts = row_counts(conn)
        subprocess.run(
            [str(PG_BIN / "pg_dump"), "--format=custom", "--no-owner", f"--snapshot={snapshot}",
             f"--file={target}", database_url],
            check=True,
        )  # fmt: skip
        conn.execute("COMMIT")
    manifest = {"dump": target.name, "taken_at": dt.datetime.now(dt.UTC).isoformat(), "row_counts": counts}
    target.with_suffix(".json").write_text(json.dumps(manifest, indent=1))
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: drop to the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def fresh_cluster(*, options: str = "") -> Iterator[tuple[Path, int]]:
    """A new, empty PostgreSQL cluster on a free port, removed afterwards."""
    data = Path(tempfile.mkdtemp(prefix="enrolment-cluster-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(data / "pg"), "-A", "trust", "-U", "postgres"]),
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data / "pg"), "-l", str(data / "pg" / "log")]
    server = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off {options}"
    subprocess.run(as_postgres([*ctl, "-w", "-o", server, "start"]), check=True, stdout=subprocess.DEVNULL)
    try:
        yield data, port
    finally:
        subprocess.run(as_postgres([*ctl, "-m", "immediate", "stop"]), stdout=subprocess.DEVNULL, check=False)
        shutil.rmtree(data, ignore_errors=True)


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": "", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.setdefault("DJANGO_SECRET_KEY", "restore-drill-only-secret-key-0123456789abcdef")
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, capture_output=True, text=True)


SMOKE = """
from django.test import Client
from django.db import connection
from villages.models import Area
ready = Client().get("/readyz")
assert ready.status_code == 200, ready.content
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'villages_auditevent'::regclass")
    partitions = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'villages_auditevent_no_update'")
    triggers = cursor.fetchone()[0]
assert partitions > 0 and triggers > partitions, (partitions, triggers)
print(Area.objects.count())
"""


def drill(dump_path: Path) -> dict:
    import psycopg

    manifest = json.loads(dump_path.with_suffix(".json").read_text())
    report: dict = {"dump": str(dump_path), "checks": {}}
    started = time.perf_counter()
    with fresh_cluster() as (_data, port):
        url = f"postgres://postgres@127.0.0.1:{port}/enrolment"
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE enrolment")
        restore = subprocess.run(
            [str(PG_BIN / "pg_restore"), "--no-owner", "--exit-on-error", "-d", url, str(dump_path)],
            capture_output=True, text=True,
        )  # fmt: skip
        report["checks"]["restore"] = {"ok": restore.returncode == 0, "error": restore.stderr[-2000:]}
        migrations = manage(url, "migrate", "--check")
        report["checks"]["migrations"] = {"ok": migrations.returncode == 0, "output": migrations.stdout[-2000:]}
        check = manage(url, "check")
        report["checks"]["django_check"] = {"ok": check.returncode == 0, "output": check.stderr[-2000:]}
        smoke = manage(url, "shell", "--no-imports", "-c", SMOKE)
        report["checks"]["smoke"] = {"ok": smoke.returncode == 0, "areas": smoke.stdout.strip()[-50:],
                                     "error": smoke.stderr[-2000:]}  # fmt: skip
        with psycopg.connect(url) as conn:
            restored = row_counts(conn)
        expected = manifest["row_counts"]
        differences = {
            table: {"dumped": expected.get(table), "restored": restored.get(table)}
            for table in sorted(set(expected) | set(restored))
            if expected.get(table) != restored.get(table)
        }
        report["checks"]["row_counts"] = {"ok": not differences, "tables": len(expected), "differences": differences,
                                          "rows": sum(expected.values())}  # fmt: skip
    report["ok"] = all(check["ok"] for check in report["checks"].values())
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["dump", "drill"])
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "backups")
    parser.add_argument("--dump", type=Path, help="drill: this dump instead of the newest in --dir")
    args = parser.parse_args()
    if args.action == "dump":
        print(dump(os.environ["DATABASE_URL"], args.dir))
        return
    dump_path = args.dump or max(args.dir.glob("*.dump"), key=lambda path: path.stat().st_mtime)
    report = drill(dump_path)
    print(json.dumps(report, indent=1))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
