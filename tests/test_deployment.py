"""The deployment for real, on one machine: a PostgreSQL primary, a streaming replica made with
pg_basebackup, PgBouncer (Debian's package) in transaction mode in front of the primary, and the
service on top (in a child process, with the production settings).

Through PgBouncer: writes, exports (server-side cursors off), advisory-locked bulk saves; list
reads land on the replica once it has replayed them; with the replica stopped every request still
answers, from the primary."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

_spec = importlib.util.spec_from_file_location("backup_script", ROOT / "scripts" / "backup.py")
assert _spec is not None
assert _spec.loader is not None
backup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backup)

# Run in the child: the service's own code, through the settings a deployment uses.
WORKLOAD = r"""
import json, sys, time
from django.db import connections
from rest_framework.test import APIClient
from tests.factories import UserFactory, token_for, worker_payload
from villages.models import Role

step = sys.argv[2]  # argv: -c, this code, the step, its argument
out = {}
if step == "write":
    officer = UserFactory(role=Role.VILLAGE_OPERATOR, areas=["17.04.01.2001"], username="operator")
    key = token_for(officer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    bodies = [worker_payload(id=f"w-{n}", nik=f"170401010190{n + 1:04d}", full_name="Warga Desa") for n in range(3)]
    out["created"] = [client.post("/api/v1/workers", body, format="json").status_code for body in bodies]
    out["bulk"] = client.post("/api/v1/workers/bulk", {"records": bodies}, format="json").status_code
    export = client.get("/api/v1/exports/workers.csv")
    body = b"".join(export.streaming_content) if export.streaming else export.content
    out["export"] = [export.status_code, len(body.decode("utf-8-sig").strip().splitlines())]
    out["key"] = key
else:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {sys.argv[3]}")
    on_replica = []

    def seen(execute, sql, params, many, context):
        on_replica.append(sql)
        return execute(sql, params, many, context)

    with connections["replica"].execute_wrapper(seen):  # counts without connecting
        listed = client.get("/api/v1/workers")
    out["status"] = listed.status_code
    out["ids"] = sorted(row["id"] for row in listed.json()["results"]) if listed.status_code == 200 else []
    out["replica_queries"] = len(on_replica)
print(json.dumps(out))
"""


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)  # noqa: S603


def _env(primary_port: int, bouncer_port: int, replica_port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))},
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{bouncer_port}/enrolment",
        "DATABASE_REPLICA_URL": f"postgres://postgres@127.0.0.1:{replica_port}/enrolment",
        "DATABASE_POOLER": "pgbouncer",
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": "",
        "REPLICA_CHECK_SECONDS": "0",
        "REPLICA_PIN_SECONDS": "1",
        "DJANGO_SECRET_KEY": "deployment-test-secret-key-0123456789abcdefgh",
        "FAST_PASSWORD_HASHING": "1",
    }


@pytest.mark.e2e
def test_primary_replica_and_pgbouncer_in_transaction_mode(tmp_path):
    if not Path(PGBOUNCER).exists():
        pytest.fail("pgbouncer is not installed (scripts/test installs Debian's package)")
    with backup.fresh_cluster(options="-c wal_level=replica -c max_wal_senders=4") as (data, primary_port):
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{primary_port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE enrolment")
        primary_url = f"postgres://postgres@127.0.0.1:{primary_port}/enrolment"
        direct = {**os.environ, "DATABASE_URL": primary_url, "REDIS_URL": "", "DJANGO_SECRET_KEY": "x" * 50}
        # Migrations run against the primary itself (DDL and its locks are session work).
        _run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=direct)
        _run([sys.executable, "manage.py", "load_areas", "--province", "17"], cwd=ROOT, env=direct)

        replica_dir, replica_port = data / "replica", backup.free_port()
        _run(backup.as_postgres([str(backup.PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port),
                                 "-U", "postgres", "-D", str(replica_dir), "-R", "-X", "stream"]))  # fmt: skip
        replica_ctl = [str(backup.PG_BIN / "pg_ctl"), "-D", str(replica_dir), "-l", str(data / "replica.log")]
        _run(backup.as_postgres([*replica_ctl, "-w", "-o", f"-p {replica_port} -k {data}", "start"]))

        bouncer_port = backup.free_port()
        (data / "pgbouncer.ini").write_text(
            f"[databases]\nenrolment = host=127.0.0.1 port={primary_port} dbname=enrolment\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {bouncer_port}\nunix_socket_dir =\n"
            "auth_type = trust\nauth_file = " + str(data / "users.txt") + "\npool_mode = transaction\n"
            "default_pool_size = 4\nmax_client_conn = 200\n"
            f"logfile = {data / 'pgbouncer.log'}\npidfile = {data / 'pgbouncer.pid'}\n"
        )
        (data / "users.txt").write_text('"postgres" ""\n')
        if os.geteuid() == 0:
            for path in ("pgbouncer.ini", "users.txt"):
                shutil.chown(data / path, "postgres", "postgres")
        _run(backup.as_postgres([PGBOUNCER, "-d", str(data / "pgbouncer.ini")]))
        env = _env(primary_port, bouncer_port, replica_port)
        child = [sys.executable, "-c", "import django, sys; django.setup(); exec(sys.argv[1])", WORKLOAD]
        try:
            env["DJANGO_SETTINGS_MODULE"] = "config.settings"
            wrote = json.loads(_run([*child, "write"], cwd=ROOT, env=env).stdout)
            assert wrote["created"] == [201, 201, 201]
            assert wrote["bulk"] == 200
            assert wrote["export"] == [200, 4]  # the header and three workers, read with iterator()

            # Once replayed (and the writer's pin is over), the list is read on the replica.
            deadline = time.monotonic() + 30
            while True:
                time.sleep(1.2)
                read = json.loads(_run([*child, "read", wrote["key"]], cwd=ROOT, env=env).stdout)
                if (
                    read["replica_queries"] > 1 and read["ids"] == ["w-0", "w-1", "w-2"]
                ) or time.monotonic() > deadline:
                    break
            assert read["status"] == 200
            assert read["ids"] == ["w-0", "w-1", "w-2"]
            assert read["replica_queries"] > 1  # the lag check, then the list's own reads

            _run(backup.as_postgres([*replica_ctl, "-m", "fast", "stop"]))
            fallback = json.loads(_run([*child, "read", wrote["key"]], cwd=ROOT, env=env).stdout)
            # The lag check could not connect: nothing ran there, the primary answered.
            assert fallback == {"status": 200, "ids": ["w-0", "w-1", "w-2"], "replica_queries": 0}
            with psycopg.connect(primary_url) as conn:
                assert conn.execute("SELECT count(*) FROM workers_worker").fetchone()[0] == 3
        finally:
            subprocess.run(["kill", (data / "pgbouncer.pid").read_text().strip()], check=False)  # noqa: S603, S607
            stop_replica = backup.as_postgres([*replica_ctl, "-m", "immediate", "stop"])
            subprocess.run(stop_replica, capture_output=True, check=False)  # noqa: S603 (our command)
