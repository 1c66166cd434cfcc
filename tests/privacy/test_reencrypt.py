"""Key rotation: `manage.py reencrypt` under concurrent writes, and killed halfway then resumed."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from config import pii
from config.pii import encrypt_bytes
from config.reencrypt import encrypted_columns, reencrypt_model, stale_rows
from enrolment.funding.models import Claim, DeathReport
from enrolment.imports.invalid_rows import invalid_rows_read
from enrolment.imports.models import ImportJob
from enrolment.imports.uploads import upload_open
from tests.conftest import committed
from tests.factories import WorkerFactory, make_nik
from tests.pii_keys import TEST_BLIND_INDEX_KEY, TEST_FIELD_ENCRYPTION_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD
from villages.audit import Actor
from workers.models import Worker
from workers.services import worker_update

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = [TEST_FIELD_ENCRYPTION_KEY_OLD], [TEST_FIELD_ENCRYPTION_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD]


def raw_tokens() -> dict[str, tuple[str, ...]]:
    """Each worker's stored tokens, as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, nik, kk_number, phone, mother_maiden_name, heirs FROM workers_worker ORDER BY id")
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def key_ids() -> set[str]:
    return {pii.token_key_id(t) for tokens in raw_tokens().values() for t in tokens if t}


def people(count: int) -> dict[str, dict[str, object]]:
    made = {}
    for n in range(count):
        worker = WorkerFactory(
            id=f"rot-{n:03d}",
            nik=make_nik(serial=n + 1),
            kk_number=make_nik(serial=5000 + n),
            phone=f"+628123{n:07d}",
            mother_maiden_name=f"Ibu {spell(n)}",
            heirs=[
                {"name": f"Anak {spell(n)}", "relationship": "child", "nik": make_nik(serial=9000 + n), "phone": ""}
            ],
        )
        made[worker.id] = values_of(worker)
    return made


def spell(number: int) -> str:
    """A distinct name per number (names hold no digits)."""
    return "".join("bdkmnprstw"[int(d)] + "a" for d in str(number)).capitalize()


def values_of(worker: Worker) -> dict[str, object]:
    return {
        "nik": worker.nik,
        "kk_number": worker.kk_number,
        "phone": worker.phone,
        "mother_maiden_name": worker.mother_maiden_name,
        "heirs": worker.heirs,
    }


def stored_values() -> dict[str, dict[str, object]]:
    return {w.id: values_of(w) for w in Worker.objects.order_by("id")}


@committed
def test_rotation_under_concurrent_writes_loses_nothing_and_leaves_nothing_unreadable(settings, make_user):
    settings.FIELD_ENCRYPTION_KEYS = OLD
    expected = people(60)
    old_id = pii.keyring().current_id
    assert key_ids() == {old_id}
    officer = make_user()

    settings.FIELD_ENCRYPTION_KEYS = NEW  # the new key first; the old one still decrypts
    new_id = pii.keyring().current_id
    errors: list[BaseException] = []
    stop = threading.Event()

    def edit() -> None:
        """Officers keep changing phones while the rotation runs (each write under the new key)."""
        try:
            n = 0
            while not stop.is_set() and n < 200:
                worker_id = f"rot-{n % 60:03d}"
                phone = f"+628139{n:07d}"
                worker_update(actor=Actor(user=officer), worker_id=worker_id, patch={"phone": phone}, if_match=None)
                expected[worker_id]["phone"] = phone
                n += 1
        except BaseException as problem:  # reported below
            errors.append(problem)
        finally:
            connection.close()

    writer = threading.Thread(target=edit)
    writer.start()
    progress = [reencrypt_model(model, columns, batch_size=7, pause=0.01) for model, columns in encrypted_columns()]
    stop.set()
    writer.join(30)

    assert errors == [], [getattr(e, "details", e) for e in errors]
    assert sum(p.rows + p.skipped for p in progress) >= 1
    assert set(stale_rows().values()) == {0}
    assert key_ids() == {new_id}
    assert stored_values() == expected  # every concurrent change kept, every value readable
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY]  # the old key can go
    assert stored_values() == expected


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def reencrypt_process(*extra: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "FIELD_ENCRYPTION_KEYS": ",".join(NEW),
        "BLIND_INDEX_KEY": TEST_BLIND_INDEX_KEY,
    }
    return subprocess.Popen(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", "reencrypt", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@committed
def test_reencrypt_killed_halfway_resumes_and_finishes(settings):
    settings.FIELD_ENCRYPTION_KEYS = OLD
    expected = people(40)
    old_id = pii.keyring().current_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, sync_txid FROM workers_worker ORDER BY id")
        stamps = cursor.fetchall()
    settings.FIELD_ENCRYPTION_KEYS = NEW
    new_id = pii.keyring().current_id

    process = reencrypt_process("--batch-size", "4", "--pause", "0.3")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and key_ids() == {old_id}:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(10)

    halfway = key_ids()
    assert halfway == {old_id, new_id}  # killed in the middle: both keys in use
    assert stored_values() == expected  # every row readable with the key list
    assert 0 < stale_rows()["workers.Worker"] < 40

    finished = reencrypt_process("--batch-size", "4")
    out, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err
    assert "workers.Worker:" in out
    again = reencrypt_process("--check")
    check_out, _ = again.communicate(timeout=60)
    assert again.returncode == 0, check_out
    assert key_ids() == {new_id}
    assert stored_values() == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, sync_txid FROM workers_worker ORDER BY id")
        assert cursor.fetchall() == stamps  # same values: devices have nothing to fetch again


def test_reencrypt_covers_claim_heirs_and_kept_invalid_rows_files(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.FIELD_ENCRYPTION_KEYS = OLD
    old_id = pii.keyring().current_id
    worker = WorkerFactory()
    heirs = [{"name": "Rahmat", "relationship": "child", "nik": make_nik(serial=77), "phone": "+6281277000077"}]
    death = DeathReport.objects.create(worker=worker, date_of_death=dt.date(2026, 11, 20), cause="other", place="Rumah")
    claim = Claim.objects.create(
        death=death, worker=worker, village_id=worker.village_id, program="JKM", covered=True, status="paid",
        checklist=[], heirs=heirs, amount_idr=42_000_000, status_changed_at=timezone.now(),
    )  # fmt: skip
    job = ImportJob.objects.create(filename="a.csv", file_format="csv", file_sha256="0" * 64, invalid_count=1)
    sheet = b"PK fake xlsx with " + make_nik(serial=78).encode()
    job.invalid_rows_file.save(
        f"{job.id}.xlsx.enc", ContentFile(encrypt_bytes(sheet, context=f"import-invalid-rows:{job.id}"))
    )
    old_file = Path(job.invalid_rows_file.path)

    settings.FIELD_ENCRYPTION_KEYS = NEW
    new_id = pii.keyring().current_id
    assert stale_rows()["enrolment.Claim"] == 1
    assert stale_rows()["enrolment.ImportJob.invalid_rows_file"] == 1
    out = io.StringIO()
    call_command("reencrypt", "--batch-size", "2", stdout=out)
    call_command("reencrypt", stdout=io.StringIO())  # a second run: nothing to do

    assert "enrolment.ImportJob.invalid_rows_file: 1 files re-encrypted" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT heirs FROM enrolment_claim WHERE id = %s", [claim.id])
        assert pii.token_key_id(cursor.fetchone()[0]) == new_id != old_id
    assert Claim.objects.get(pk=claim.pk).heirs == heirs
    job.refresh_from_db()
    assert job.invalid_rows_file.name == f"imports/invalid/{job.id}.{new_id}.xlsx.enc"
    assert not old_file.exists()
    assert sorted(p.name for p in (tmp_path / "imports" / "invalid").iterdir()) == [f"{job.id}.{new_id}.xlsx.enc"]
    assert invalid_rows_read(job) == sheet
    assert set(stale_rows().values()) == {0}
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY]  # the old key can go
    assert invalid_rows_read(job) == sheet
    assert Claim.objects.get(pk=claim.pk).heirs == heirs


@committed
def test_reencrypt_reseals_kept_uploads_and_seals_plaintext_ones(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.FIELD_ENCRYPTION_KEYS = OLD
    nik_sealed, nik_plain = make_nik(serial=81), make_nik(serial=82)
    sealed_body, plain_body = f"nik;nama\n{nik_sealed};Siti\n".encode(), f"nik;nama\n{nik_plain};Darmawan\n".encode()
    failed = {"file_format": "csv", "status": "failed", "finished_at": timezone.now()}
    under_old = ImportJob.objects.create(filename="a.csv", file_sha256="1" * 64, **failed)
    under_old.file.save(
        f"{under_old.id}.csv.enc", ContentFile(encrypt_bytes(sealed_body, context=f"import-upload:{under_old.id}"))
    )
    plain = ImportJob.objects.create(filename="b.csv", file_sha256="2" * 64, **failed)
    plain.file.save(f"{plain.id}.csv", ContentFile(plain_body))  # stored before uploads were sealed

    settings.FIELD_ENCRYPTION_KEYS = NEW
    new_id = pii.keyring().current_id
    assert stale_rows()["enrolment.ImportJob.file"] == 2
    check = io.StringIO()
    with pytest.raises(SystemExit) as stop:
        call_command("reencrypt", "--check", stdout=check)
    assert stop.value.code == 1
    assert "enrolment.ImportJob.file: 2 under another key" in check.getvalue()
    out = io.StringIO()
    call_command("reencrypt", stdout=out)
    call_command("reencrypt", stdout=io.StringIO())  # a second run: nothing to do

    assert "enrolment.ImportJob.file: 2 files re-encrypted" in out.getvalue()
    assert stale_rows()["enrolment.ImportJob.file"] == 0
    assert sorted(p.name for p in (tmp_path / "imports").iterdir()) == sorted(
        [f"{under_old.id}.{new_id}.csv.enc", f"{plain.id}.{new_id}.csv.enc"]
    )
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY]  # the old key can go
    for job, body, nik in ((under_old, sealed_body, nik_sealed), (plain, plain_body, nik_plain)):
        job.refresh_from_db()
        assert job.file.name == f"imports/{job.id}.{new_id}.csv.enc"
        with upload_open(job) as handle:
            assert handle.read() == body
        assert nik.encode() not in Path(job.file.path).read_bytes()
