"""The restore drill: a dump of the test database restores into a brand-new cluster, passes the
migrations check and the smoke test, and holds exactly the rows it was dumped with."""

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
from django.db import connection

from tests.conftest import GEDUNG_WANI, committed
from tests.factories import worker_payload
from villages.models import AuditEvent, Role

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("backup_script", ROOT / "scripts" / "backup.py")
assert _spec is not None
assert _spec.loader is not None
backup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backup)


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


def _rows(port: int) -> list[tuple[int, str]]:
    with psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres") as conn:
        return conn.execute("SELECT id, note FROM drill ORDER BY id").fetchall()


@pytest.mark.e2e
def test_point_in_time_recovery_from_a_base_backup_and_the_wal_archive():
    """Continuous archiving end to end on a scratch cluster: a base backup, then three batches of
    writes with a recovery target between each; each restore into a new data directory holds
    exactly the rows committed before its target, and none after."""
    scratch = backup.postgres_dir("enrolment-pitr-")
    wal_dir = scratch / "wal"
    wal_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(wal_dir, "postgres", "postgres")
    try:
        with backup.fresh_cluster(settings=backup.archiving_settings(wal_dir)) as (_data, port):
            url = f"postgres://postgres@127.0.0.1:{port}/postgres"
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE TABLE drill (id int PRIMARY KEY, note text NOT NULL)")
                conn.execute("INSERT INTO drill VALUES (1, 'before the base backup')")
            base = backup.base_backup(url, scratch / "backups")
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("INSERT INTO drill VALUES (2, 'a'), (3, 'b')")
                after_first = str(conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0])
                conn.execute("BEGIN")
                conn.execute("DELETE FROM drill WHERE id = 2")
                conn.execute("INSERT INTO drill VALUES (4, 'c')")
                conn.execute("COMMIT")
                time.sleep(0.05)  # commit timestamps are microseconds: keep the target clear of both
                after_second = conn.execute("SELECT clock_timestamp()").fetchone()[0]
                time.sleep(0.05)
                conn.execute("UPDATE drill SET note = 'changed' WHERE id = 1")
                conn.execute("INSERT INTO drill VALUES (5, 'd')")
                conn.execute("SELECT pg_create_restore_point('before-the-mistake')")
                conn.execute("DELETE FROM drill")  # the mistake the recovery undoes
            backup.switch_and_wait_archived(url)
        # The source cluster is gone: everything below comes from the base backup and the archive.
        assert json.loads(base.with_suffix(".json").read_text())["start_lsn"] < after_first

        def restore(name: str, target: dict[str, str]) -> list[tuple[int, str]]:
            port = backup.free_port()
            data = scratch / name
            report = backup.point_in_time_restore(base, wal_dir, data, target=target, port=port)
            try:
                assert report["timeline"] == 2  # promoted: a new timeline, writable
                return _rows(port)
            finally:
                backup.stop_cluster(data)

        assert restore("to-lsn", {"recovery_target_lsn": after_first}) == [
            (1, "before the base backup"), (2, "a"), (3, "b"),
        ]  # fmt: skip
        assert restore("to-time", {"recovery_target_time": after_second.isoformat()}) == [
            (1, "before the base backup"), (3, "b"), (4, "c"),
        ]  # fmt: skip
        assert restore("to-name", {"recovery_target_name": "before-the-mistake"}) == [
            (1, "changed"), (3, "b"), (4, "c"), (5, "d"),
        ]  # fmt: skip
        assert restore("to-end", {}) == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_the_archive_command_never_overwrites_a_different_segment(tmp_path):
    segment = tmp_path / "000000010000000000000003"
    segment.write_bytes(b"wal" * 100)
    archive = tmp_path / "archive"
    archive.mkdir()
    assert backup.archive_wal(segment, archive / segment.name) == 0
    assert (archive / segment.name).read_bytes() == b"wal" * 100
    assert backup.archive_wal(segment, archive / segment.name) == 0  # a retry of the same segment
    segment.write_bytes(b"other")
    assert backup.archive_wal(segment, archive / segment.name) == 1
    assert (archive / segment.name).read_bytes() == b"wal" * 100
    assert sorted(path.name for path in archive.iterdir()) == [segment.name]
