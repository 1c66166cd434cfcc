"""The deployment for real, on one machine: a PostgreSQL primary, a streaming replica made with
pg_basebackup, PgBouncer (Debian's package) in transaction mode in front of the primary, and the
service on top (in a child process, with the production settings).

Through PgBouncer: writes, exports (server-side cursors off), advisory-locked bulk saves; list
reads land on the replica once it has replayed them; with the replica stopped every request still
answers, from the primary."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.deployment import PGBOUNCER, ROOT, pgbouncer, primary_and_replica
from tests.deployment import run as _run

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


def _env(bouncer_url: str, replica_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))},
        "DATABASE_URL": bouncer_url,
        "DATABASE_REPLICA_URL": replica_url,
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
    with primary_and_replica() as databases, pgbouncer(databases) as bouncer_url:
        primary_url = databases.primary_url
        env = _env(bouncer_url, databases.replica_url)
        child = [sys.executable, "-c", "import django, sys; django.setup(); exec(sys.argv[1])", WORKLOAD]
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
            if (read["replica_queries"] > 1 and read["ids"] == ["w-0", "w-1", "w-2"]) or time.monotonic() > deadline:
                break
        assert read["status"] == 200
        assert read["ids"] == ["w-0", "w-1", "w-2"]
        assert read["replica_queries"] > 1  # the lag check, then the list's own reads

        databases.stop_replica()
        fallback = json.loads(_run([*child, "read", wrote["key"]], cwd=ROOT, env=env).stdout)
        # The lag check could not connect: nothing ran there, the primary answered.
        assert fallback == {"status": 200, "ids": ["w-0", "w-1", "w-2"], "replica_queries": 0}
        with psycopg.connect(primary_url) as conn:
            assert conn.execute("SELECT count(*) FROM workers_worker").fetchone()[0] == 3
