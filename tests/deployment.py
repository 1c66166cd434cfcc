"""The pieces of a real deployment on one machine, shared by tests/test_deployment.py and
tests/test_multihost.py: a new PostgreSQL primary (migrated, Bengkulu's areas loaded), a
streaming replica of it made with pg_basebackup, and Debian's PgBouncer in transaction mode in
front of the primary. Built on scripts/backup.py's scratch-cluster helpers."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

_spec = importlib.util.spec_from_file_location("backup_script", ROOT / "scripts" / "backup.py")
assert _spec is not None
assert _spec.loader is not None
backup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backup)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)  # noqa: S603


@dataclass
class Databases:
    """A migrated primary and its streaming replica, both listening on `host` (and 127.0.0.1)."""

    data: Path
    host: str
    primary_port: int
    replica_port: int

    @property
    def primary_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.primary_port}/enrolment"

    @property
    def replica_url(self) -> str:
        return f"postgres://postgres@{self.host}:{self.replica_port}/enrolment"

    @property
    def replica_ctl(self) -> list[str]:
        return [str(backup.PG_BIN / "pg_ctl"), "-D", str(self.data / "replica"), "-l", str(self.data / "replica.log")]

    def stop_replica(self, mode: str = "fast") -> None:
        run(backup.as_postgres([*self.replica_ctl, "-m", mode, "stop"]))


def _listen(host: str) -> str:
    return "127.0.0.1" if host == "127.0.0.1" else f"127.0.0.1,{host}"


@contextlib.contextmanager
def primary_and_replica(*, host: str = "127.0.0.1", server_options: str = "") -> Iterator[Databases]:
    """`server_options` go to both servers' command lines (e.g. `-c shared_preload_libraries=…`)."""
    options = f"-c wal_level=replica -c max_wal_senders=4 -c listen_addresses={_listen(host)} {server_options}"
    with backup.fresh_cluster(options=options) as (data, primary_port):
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{primary_port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE enrolment")
        databases = Databases(data=data, host=host, primary_port=primary_port, replica_port=backup.free_port())
        direct = {**os.environ, "DATABASE_URL": databases.primary_url, "REDIS_URL": "", "DJANGO_SECRET_KEY": "x" * 50}
        # Migrations run against the primary itself (DDL and its locks are session work).
        run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=direct)
        run([sys.executable, "manage.py", "load_areas", "--province", "17"], cwd=ROOT, env=direct)

        run(backup.as_postgres([str(backup.PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port),
                                "-U", "postgres", "-D", str(data / "replica"), "-R", "-X", "stream"]))  # fmt: skip
        if host != "127.0.0.1":  # initdb's pg_hba.conf trusts loopback only; clients come from host's network
            with (data / "replica" / "pg_hba.conf").open("a") as hba:
                hba.write("host all all samenet trust\n")
        replica_options = f"-p {databases.replica_port} -k {data} -c listen_addresses={_listen(host)} {server_options}"
        run(backup.as_postgres([*databases.replica_ctl, "-w", "-o", replica_options, "start"]))
        try:
            yield databases
        finally:
            stop = backup.as_postgres([*databases.replica_ctl, "-m", "immediate", "stop"])
            subprocess.run(stop, capture_output=True, check=False)  # noqa: S603 (our command)


@contextlib.contextmanager
def pgbouncer(databases: Databases, *, pool_size: int = 4) -> Iterator[str]:
    """Debian's PgBouncer in transaction mode in front of the primary; yields its DATABASE_URL."""
    data, port = databases.data, backup.free_port()
    (data / "pgbouncer.ini").write_text(
        f"[databases]\nenrolment = host=127.0.0.1 port={databases.primary_port} dbname=enrolment\n"
        f"[pgbouncer]\nlisten_addr = {databases.host}\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = trust\nauth_file = " + str(data / "users.txt") + "\npool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmax_client_conn = 200\n"
        f"logfile = {data / 'pgbouncer.log'}\npidfile = {data / 'pgbouncer.pid'}\n"
    )
    (data / "users.txt").write_text('"postgres" ""\n')
    if os.geteuid() == 0:
        for path in ("pgbouncer.ini", "users.txt"):
            shutil.chown(data / path, "postgres", "postgres")
    run(backup.as_postgres([PGBOUNCER, "-d", str(data / "pgbouncer.ini")]))
    try:
        yield f"postgres://postgres@{databases.host}:{port}/enrolment"
    finally:
        subprocess.run(["kill", (data / "pgbouncer.pid").read_text().strip()], check=False)  # noqa: S603, S607
