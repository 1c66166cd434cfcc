"""The restore drill: a dump of the test database restores into a brand-new cluster, passes the
migrations check and the smoke test, and holds exactly the rows it was dumped with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import GEDUNG_WANI, committed
from tests.factories import worker_payload
from villages.models import AuditEvent, Role

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.e2e
@committed
def test_a_dump_restores_into_a_fresh_cluster_with_every_row(api, make_user, tmp_path):
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))
    assert api(officer).post("/api/v1/workers", worker_payload(), format="json").status_code == 201
    run = [sys.executable, str(ROOT / "scripts" / "backup.py")]
    env_url = {"DATABASE_URL": database_url()}
    dumped = subprocess.run([*run, "dump", "--dir", str(tmp_path)], env={**_env(), **env_url},  # noqa: S603 (our script)
                            capture_output=True, text=True, check=True)  # fmt: skip
    manifest = json.loads(Path(dumped.stdout.strip()).with_suffix(".json").read_text())
    assert manifest["row_counts"]["workers_worker"] == 1
    assert manifest["row_counts"]["villages_auditevent"] == AuditEvent.objects.count()

    drilled = subprocess.run([*run, "drill", "--dir", str(tmp_path)], env=_env(), capture_output=True, text=True)  # noqa: S603
    report = json.loads(drilled.stdout)
    assert drilled.returncode == 0, report
    assert {name: check["ok"] for name, check in report["checks"].items()} == {
        "restore": True, "migrations": True, "django_check": True, "smoke": True, "row_counts": True,
    }  # fmt: skip
    assert report["checks"]["row_counts"]["differences"] == {}


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
