"""The real WatermelonDB library, in Node, syncing field devices with the running server.

pytest-django's live server serves the project (in a thread of this process) on the test
database; the test commits its seed data (officers, an admin, workers of two villages), then runs
e2e/watermelon/sync_e2e.js: three simulated devices, each a WatermelonDB database on LokiJS in
memory, calling WatermelonDB's own synchronize() against /api/v1/sync. The script checks every
step itself (see its header for the four scenarios) and prints a JSON summary, which this test
checks again together with the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from config.pii import blind_index
from enrolment.models import Enrolment, Status
from tests.conftest import GEDUNG_WANI, VILLAGE_B, committed
from tests.factories import PASSWORD, EnrolmentFactory, UserFactory, WorkerFactory
from villages.models import Device, Role
from workers.models import Worker

pytestmark = [pytest.mark.e2e, committed]

E2E_DIR = Path(__file__).resolve().parents[2] / "e2e" / "watermelon"
NODE_TIMEOUT = 240  # seconds; the run takes a few
NPM_TIMEOUT = 300


def _require_node() -> tuple[str, str]:
    """Node 20+ and npm, or a failure saying what to install (this test is never skipped)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail(
            "The WatermelonDB end-to-end test needs Node.js 20+ and npm on PATH "
            f"(node: {node}, npm: {npm}); install them, e.g. `apt-get install nodejs npm`."
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603
    major = int(re.match(r"v(\d+)", version).group(1))  # type: ignore[union-attr]
    if major < 20:
        pytest.fail(f"The WatermelonDB end-to-end test needs Node.js 20+ (global fetch); found {version}.")
    return node, npm


def _install_packages(npm: str) -> None:
    """`npm ci` when node_modules is missing or was installed from another package-lock.json.

    The lock file's hash is stamped into node_modules after a successful install; a checkout with
    a changed lock gets a clean install again. Quiet unless it fails.
    """
    lock = (E2E_DIR / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock).hexdigest()
    stamp = E2E_DIR / "node_modules" / ".e2e-lock-sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
        cwd=E2E_DIR,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT,
    )
    if result.returncode != 0:
        pytest.fail(
            f"npm ci failed in {E2E_DIR} ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    stamp.write_text(digest)


def _seed() -> dict[str, Any]:
    """Three officers of Gedung Wani, an admin, and two workers (one enrolled) in each of Gedung
    Wani and its neighbour village. Explicit names: the sync pushes whole records back, and a
    generated name with a title ("Drs.") would be flagged for correction."""
    officers = {
        key: UserFactory(username=f"e2e-officer-{key}", role=Role.FIELD_OFFICER, areas=[GEDUNG_WANI])
        for key in ("a", "b", "moved")
    }
    admin = UserFactory(username="e2e-admin", role=Role.ADMIN)
    for village, prefix, names in (
        (GEDUNG_WANI, "seed-gw", ("Siti Aminah", "Budi Santoso")),
        (VILLAGE_B, "seed-nb", ("Yuliani", "Joko Susilo")),
    ):
        enrolled = WorkerFactory(id=f"{prefix}-1", village_id=village, full_name=names[0], phone="+6281234567001")
        EnrolmentFactory(id=f"{prefix}-e1", worker=enrolled, status=Status.SUBMITTED)
        WorkerFactory(id=f"{prefix}-2", village_id=village, full_name=names[1], phone="+6281234567002")
    return {"officers": officers, "admin": admin}


def _run_script(node: str, base_url: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "NODE_ENV": "test",
        "E2E_BASE_URL": base_url,
        "E2E_PASSWORD": PASSWORD,
        "E2E_OFFICER_A": "e2e-officer-a",
        "E2E_OFFICER_B": "e2e-officer-b",
        "E2E_MOVED_OFFICER": "e2e-officer-moved",
        "E2E_ADMIN": "e2e-admin",
        "E2E_ADMIN_PASSWORD": PASSWORD,
        "E2E_VILLAGE": GEDUNG_WANI,
        "E2E_NEW_VILLAGE": VILLAGE_B,
    }
    try:
        result = subprocess.run(  # noqa: S603 (our own script)
            [node, "sync_e2e.js"], cwd=E2E_DIR, env=env, capture_output=True, text=True, timeout=NODE_TIMEOUT
        )
    except subprocess.TimeoutExpired as timeout:
        stderr = timeout.stderr.decode(errors="replace") if isinstance(timeout.stderr, bytes) else timeout.stderr or ""
        pytest.fail(f"sync_e2e.js did not finish in {NODE_TIMEOUT} s:\n{stderr[-6000:]}")
    assert result.returncode == 0, f"sync_e2e.js exited {result.returncode}:\n{result.stderr[-6000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_watermelondb_devices_sync_with_the_server(live_server):
    node, npm = _require_node()
    _install_packages(npm)
    seed = _seed()

    summary = _run_script(node, live_server.url)

    assert summary["ok"] is True
    a, b, c, d, e = (
        summary["scenarios"][name]
        for name in ("a_converge", "b_conflict", "c_lost_response", "d_moved_officer", "e_delete_after_push")
    )
    created = a["created"]
    # a: the seed worker without enrolment and Nurhayati were deleted; Siti edited; Ahmad, Rudi new.
    assert (a["workers"], a["enrolments"], a["edited"]) == (3, 2, "seed-gw-1")
    assert a["deleted"] == sorted(["seed-gw-2", created["nurhayati"]])
    # b: the later push was refused, then merged and accepted (Siti: edited in a, in b by A, by B).
    assert (b["worker"], b["conflict"], b["version"]) == ("seed-gw-1", {"status": 409, "code": "sync_conflict"}, 4)
    # c: the lost push and its identical repeat both answered 200.
    assert (c["lost_push_status"], c["repeated_push_status"], c["version"]) == (200, 200, 1)
    # d: the moved officer's device dropped Gedung Wani's 4 workers and 2 enrolments.
    assert d["user"] == seed["officers"]["moved"].pk
    assert (d["removed_workers"], d["removed_enrolments"]) == (4, 2)
    assert (d["workers"], d["enrolments"]) == (["seed-nb-1", "seed-nb-2"], ["seed-nb-e1"])
    # The sync requests each device made, in order ("lost": reached the server, answer dropped).
    assert summary["requests"]["B"].count(["POST", 409]) == 1
    assert summary["requests"]["C"] == [["GET", 200], ["GET", 401], ["GET", 200]]
    # WatermelonDB found nothing in the server's changes contradicting a device's database.
    assert summary["diagnostics"] == []

    # The database: exactly the records the devices converged on.
    live = Worker.objects.filter(village_id=GEDUNG_WANI, deleted_at__isnull=True)
    assert sorted(live.values_list("id", flat=True)) == sorted(
        ["seed-gw-1", created["ahmad"], created["rudi"], c["worker"]]
    )
    assert sorted(
        Worker.objects.filter(village_id=GEDUNG_WANI, deleted_at__isnull=False).values_list("id", flat=True)
    ) == sorted(["seed-gw-2", created["nurhayati"], e["worker"]])
    assert Worker.objects.filter(nik_bi=blind_index(c["nik"], purpose="nik")).count() == 1
    siti = Worker.objects.get(id="seed-gw-1")
    assert (siti.phone, siti.birth_place, siti.address_street, siti.version) == (
        "+6281200000002",
        "Muara Sahung",
        "Jl. Lintas Barat",
        4,
    )
    rudi = Worker.objects.get(id=created["rudi"])
    assert (rudi.full_name, rudi.phone, rudi.occupation_id, rudi.needs_correction) == (
        "Rudi Hartono Saputra",
        "+6281345000103",
        "ojek",
        False,
    )
    enrolment = Enrolment.objects.get(id=created["ahmad_enrolment"])
    assert (enrolment.worker_id, enrolment.status, enrolment.payment_period_months, enrolment.version) == (
        created["ahmad"],
        Status.SUBMITTED,
        3,
        2,
    )
    assert enrolment.monthly_contribution == a["monthly_contribution"] > 0

    # Device health: every device reported its app version; nothing is left pending on any.
    devices = {
        device.device_id: device
        for device in Device.objects.filter(user__username__startswith="e2e-officer-").select_related("user")
    }
    assert sorted(devices) == ["e2e-device-A", "e2e-device-B", "e2e-device-C"]
    for device in devices.values():
        assert (device.app_version, device.pending_count) == ("e2e-1.0", 0), device.device_id
        assert device.last_pull_at is not None, device.device_id
    assert devices["e2e-device-A"].last_push_at is not None
    assert devices["e2e-device-C"].user.username == "e2e-officer-moved"
