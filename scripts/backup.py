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

Point-in-time recovery (continuous archiving; the other half, for losing minutes instead of a day):

    scripts/backup.py wal-config --wal-dir DIR           # the postgresql.conf lines for archiving
    scripts/backup.py archive-wal %p DIR/%f              # the archive_command itself (stdlib only)
    scripts/backup.py base --dir DIR                     # pg_basebackup (plain, WAL streamed) + manifest
    scripts/backup.py pitr --base DIR --wal-dir DIR --to NEWDATA \\
        [--target-time T | --target-lsn L | --target-name N] [--port P] [--keep-running]

`pitr` copies the base backup into a new data directory, writes `recovery.signal` and a
`restore_command` that reads the archive, sets the recovery target (none: replay every archived
segment), starts the cluster, waits for it to reach the target and promote, and prints a JSON
report (the LSN and time it stopped at). tests/test_backup.py runs the whole cycle on a scratch
cluster and asserts exactly which rows the recovered database holds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shlex
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


def postgres_dir(prefix: str) -> Path:
    """A scratch directory the server (the postgres user when we are root) may write into."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


def conf_value(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextlib.contextmanager
def fresh_cluster(*, options: str = "", settings: dict[str, str] | None = None) -> Iterator[tuple[Path, int]]:
    """A new, empty PostgreSQL cluster on a free port, removed afterwards. `settings` go into its
    postgresql.conf (values with spaces, like an archive_command, cannot pass through `pg_ctl -o`)."""
    data = postgres_dir("enrolment-cluster-")
    port = free_port()
    subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(data / "pg"), "-A", "trust", "-U", "postgres"]),
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    if settings:
        with (data / "pg" / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {conf_value(value)}\n" for name, value in settings.items())
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


# --- Continuous archiving and point-in-time recovery -------------------------------------------


def archive_command(wal_dir: Path) -> str:
    """archive_command for postgresql.conf: this script's `archive-wal`, by the system python3 (the
    server runs it as the postgres user, which cannot use the project's venv and needs nothing from it)."""
    return f"python3 {shlex.quote(str(ROOT / 'scripts' / 'backup.py'))} archive-wal %p {shlex.quote(str(wal_dir))}/%f"


def archiving_settings(wal_dir: Path, *, timeout_s: int = 60) -> dict[str, str]:
    # archive_timeout bounds how much committed work can wait in an unfilled segment: at most a
    # minute of writes is lost with the host (a forced switch costs a 16 MB segment, compressible).
    return {"wal_level": "replica", "archive_mode": "on", "archive_command": archive_command(wal_dir),
            "archive_timeout": f"{timeout_s}s"}  # fmt: skip


def archive_wal(source: Path, target: Path) -> int:
    """Copy one WAL segment into the archive, the way PostgreSQL's docs require of an archive_command:
    never overwrite a different file (a second cluster archiving into the same place must fail
    loudly), succeed on an identical one (a retry after a crash between copy and acknowledgement),
    and only ever expose complete, fsynced files (copy to a temporary name, fsync, rename)."""
    if target.exists():
        if target.read_bytes() == source.read_bytes():
            return 0
        print(f"archive-wal: {target} exists with other contents; refusing to overwrite", file=sys.stderr)
        return 1
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.rename(partial, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return 0


def base_backup(database_url: str, directory: Path) -> Path:
    """pg_basebackup in plain format with the WAL it needs streamed alongside, so the backup
    restores on its own; with the archive it restores to any later point."""
    import psycopg

    name = f"base-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    target = directory / name
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(PG_BIN / "pg_basebackup"), "-d", database_url, "-D", str(target), "-X", "stream", "--checkpoint=fast",
         "--label", name],
        check=True,
    )  # fmt: skip
    with psycopg.connect(database_url, autocommit=True) as conn:
        system_id = conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()[0]
    label = (target / "backup_label").read_text()
    start_lsn = label.split("START WAL LOCATION: ", 1)[1].split(" ", 1)[0]
    manifest = {"base": name, "start_lsn": start_lsn, "system_identifier": str(system_id),
                "taken_at": dt.datetime.now(dt.UTC).isoformat()}  # fmt: skip
    target.with_suffix(".json").write_text(json.dumps(manifest, indent=1))
    return target


def switch_and_wait_archived(database_url: str, *, timeout_s: float = 60) -> str:
    """Close the current segment and wait until the archiver has stored it: after this returns,
    every commit made before the call is in the archive. Returns the segment's file name."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        lsn = conn.execute("SELECT pg_switch_wal()").fetchone()[0]
        segment = conn.execute("SELECT pg_walfile_name(%s)", [lsn]).fetchone()[0]
        deadline = time.monotonic() + timeout_s
        while True:
            archived, failed = conn.execute(
                "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver"
            ).fetchone()
            if archived is not None and archived >= segment:
                return segment
            if time.monotonic() > deadline:
                raise TimeoutError(f"segment {segment} not archived (last {archived}, failed {failed})")
            time.sleep(0.2)


def point_in_time_restore(
    base: Path, wal_dir: Path, data: Path, *, target: dict[str, str], port: int, timeout_s: float = 120
) -> dict:
    """Restore `base` into `data` (which must not exist), replay the archive up to `target`
    (recovery_target_time / _lsn / _name, or {} for all of it), promote, and leave it running on `port`."""
    import psycopg

    shutil.copytree(base, data)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres:postgres", str(data)], check=True)
    data.chmod(0o700)
    settings = {
        "restore_command": f"cp {shlex.quote(str(wal_dir))}/%f %p",
        "recovery_target_action": "promote",
        "recovery_target_timeline": "latest",
        **target,
    }
    with (data / "postgresql.auto.conf").open("a") as conf:
        conf.writelines(f"{name} = {conf_value(value)}\n" for name, value in settings.items())
    (data / "recovery.signal").touch()
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres:postgres", str(data)], check=True)
    started = time.perf_counter()
    # The base backup carries the source's postgresql.conf, archive_command included: a restored
    # cluster must not archive its new timeline into the source's archive (a second restore from
    # that archive would then follow this one's timeline), so archiving is off until an operator
    # points it at a new place.
    server = f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1 -c archive_mode=off"
    subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data.parent / f"{data.name}.log"),
                                "-w", "-t", str(int(timeout_s)), "-o", server, "start"]),
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    url = f"postgres://postgres@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + timeout_s
    while True:
        with psycopg.connect(url, autocommit=True) as conn:
            if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                timeline = conn.execute("SELECT timeline_id FROM pg_control_checkpoint()").fetchone()[0]
                lsn = str(conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0])
                break
        if time.monotonic() > deadline:
            raise TimeoutError("recovery did not reach its target and promote")
        time.sleep(0.2)
    return {"data": str(data), "port": port, "target": target, "promoted_at_lsn": lsn, "timeline": timeline,
            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


def stop_cluster(data: Path) -> None:
    subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                   stdout=subprocess.DEVNULL, check=False)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["dump", "drill", "wal-config", "archive-wal", "base", "pitr"])
    parser.add_argument("paths", nargs="*", help="archive-wal: %%p and the archive's DIR/%%f")
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "backups")
    parser.add_argument("--dump", type=Path, help="drill: this dump instead of the newest in --dir")
    parser.add_argument("--wal-dir", type=Path, help="wal-config, pitr: the WAL archive")
    parser.add_argument("--base", type=Path, help="pitr: the base backup directory (from `base`)")
    parser.add_argument("--to", type=Path, help="pitr: the new data directory (must not exist)")
    parser.add_argument("--port", type=int, help="pitr: port of the restored cluster (default: a free one)")
    parser.add_argument("--target-time", help="pitr: recovery_target_time, e.g. '2026-12-02 21:30:00+00'")
    parser.add_argument("--target-lsn", help="pitr: recovery_target_lsn, e.g. 0/3000148")
    parser.add_argument("--target-name", help="pitr: a restore point made by pg_create_restore_point()")
    parser.add_argument("--keep-running", action="store_true", help="pitr: leave the restored cluster running")
    args = parser.parse_args()
    if args.action == "archive-wal":
        sys.exit(archive_wal(Path(args.paths[0]), Path(args.paths[1])))
    if args.action == "wal-config":
        for name, value in archiving_settings(args.wal_dir.resolve()).items():
            print(f"{name} = {conf_value(value)}")
        return
    if args.action == "base":
        print(base_backup(os.environ["DATABASE_URL"], args.dir))
        return
    if args.action == "pitr":
        targets = {"recovery_target_time": args.target_time, "recovery_target_lsn": args.target_lsn,
                   "recovery_target_name": args.target_name}  # fmt: skip
        chosen = {name: value for name, value in targets.items() if value}
        if len(chosen) > 1:
            parser.error("give at most one of --target-time, --target-lsn, --target-name")
        report = point_in_time_restore(args.base.resolve(), args.wal_dir.resolve(), args.to.resolve(),
                                       target=chosen, port=args.port or free_port())  # fmt: skip
        if not args.keep_running:
            stop_cluster(args.to.resolve())
        print(json.dumps(report, indent=1))
        return
    if args.action == "dump":
        print(dump(os.environ["DATABASE_URL"], args.dir))
        return
    dump_path = args.dump or max(args.dir.glob("*.dump"), key=lambda path: path.stat().st_mtime)
    report = drill(dump_path)
    print(json.dumps(report, indent=1))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
