"""No plaintext NIK, KK or phone at rest: a pg_dump of the whole database, the service's log
lines, every Redis key and value and every file under MEDIA_ROOT, after workers, enrolments, a
registry batch, an import, a failed import (its upload kept for a retry), a sync pull and a
quarantined push, hold none of the known values."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from enrolment.funding.models import Claim
from enrolment.imports.invalid_rows import invalid_rows_read
from enrolment.imports.models import ImportJob
from enrolment.imports.services import import_job_run, processing
from enrolment.registry.models import RegistryBatch
from enrolment.registry.services import registry_batch_claim
from tests.conftest import GEDUNG_WANI, VILLAGE_B, committed
from tests.factories import worker_payload
from tests.panel.test_imports import COLUMNS, csv_file, upload
from tests.registry.conftest import make_verified
from tests.sync.helpers import changes, flat_worker
from tests.sync.test_sync_api import pull, push
from villages.models import Role

NIK_A, KK_A, PHONE_A = "1704014101900123", "1704010101001234", "081234509876"
NIK_HEIR, PHONE_HEIR = "1704010505100456", "081398765432"
NIK_IMPORT, PHONE_IMPORT = "1704010602850789", "081377712345"
NIK_REGISTRY, KK_REGISTRY = "1704010703800912", "1704010101009999"
NIK_QUARANTINE = "1704010808800345"
PHONE_PATCHED = "081311223344"
NIK_INVALID_ROW, PHONE_INVALID_ROW = "1704010909800678", "081366655544"  # an import row kept as invalid
NIK_CLAIM_HEIR, PHONE_CLAIM_HEIR = "1704011010100234", "081355566677"  # heirs corrected on a claim
NIK_FAILED_IMPORT, PHONE_FAILED_IMPORT = "1704011111800567", "081344433322"  # a failed job's kept upload
KNOWN = [NIK_A, KK_A, NIK_HEIR, NIK_IMPORT, NIK_REGISTRY, KK_REGISTRY, NIK_QUARANTINE, NIK_INVALID_ROW, NIK_CLAIM_HEIR,
         NIK_FAILED_IMPORT]  # fmt: skip
PHONES = [PHONE_A, PHONE_HEIR, PHONE_IMPORT, PHONE_PATCHED, PHONE_INVALID_ROW, PHONE_CLAIM_HEIR, PHONE_FAILED_IMPORT]


def forms(phone: str) -> list[str]:
    """How a phone can appear: as typed, E.164, and its national significant number."""
    return [phone, "+62" + phone[1:], phone[1:]]


def needles() -> list[str]:
    return [*KNOWN, *(form for phone in PHONES for form in forms(phone))]


def found_in(text: str) -> list[str]:
    return [needle for needle in needles() if needle in text]


def dump_database() -> str:
    db = connection.settings_dict
    pg_dump = shutil.which("pg_dump") or "/usr/lib/postgresql/15/bin/pg_dump"
    return subprocess.run(  # noqa: S603 (a fixed program and the test database's own address)
        [pg_dump, "-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"], db["NAME"]],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def redis_contents() -> str:
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    parts: list[bytes] = []
    for key in client.scan_iter(count=1000):
        parts.append(key)
        kind = client.type(key)
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"list":
            parts.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                parts.extend([field, value])
        elif kind == b"set":
            parts.extend(client.smembers(key))
        elif kind == b"zset":
            parts.extend(client.zrange(key, 0, -1))
    return b"\n".join(parts).decode("utf-8", "replace")


@pytest.fixture
def service_log():
    """What the configured console handler writes, captured."""
    handlers = [
        h for h in logging.getLogger().handlers if any(type(f).__module__ == "config.logmask" for f in h.filters)
    ]
    assert handlers, "the console handler carries the masking filter"
    stream = io.StringIO()
    previous = [h.setStream(stream) for h in handlers]  # type: ignore[attr-defined]
    yield stream
    for handler, old in zip(handlers, previous, strict=True):
        handler.setStream(old)  # type: ignore[attr-defined]


@committed
def test_no_known_nik_kk_or_phone_in_the_dump_the_logs_or_redis(
    api, make_user, settings, service_log, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.REGISTRY_URL = "http://127.0.0.1:9"
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))
    operator = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,))
    client = api(officer)

    # A worker through the API, with heirs, then changed and searched for.
    body = worker_payload(
        nik=NIK_A,
        kk_number=KK_A,
        phone=PHONE_A,
        heirs=[{"name": "Rahmat", "relationship": "child", "nik": NIK_HEIR, "phone": PHONE_HEIR}],
    )
    assert client.post("/api/v1/workers", body, format="json").status_code == 201
    assert client.patch(f"/api/v1/workers/{body['id']}", {"phone": PHONE_PATCHED}, format="json").status_code == 200
    assert client.get(f"/api/v1/workers?q={NIK_A}").json()["results"][0]["id"] == body["id"]
    duplicate = client.post("/api/v1/workers", worker_payload(nik=NIK_A), format="json")
    assert duplicate.json()["error"]["code"] == "nik_already_registered"

    # An import (its file is removed after the job), with an invalid row whose spreadsheet is kept
    # for the operator to fix: sealed at rest (a zip would hide a plaintext NIK from the scan).
    row = [NIK_IMPORT, "Darmawan", "L", "1985-02-06", GEDUNG_WANI, "petani", PHONE_IMPORT, "", "", "", "", ""]
    bad = [NIK_INVALID_ROW, "Sumarni", "X", "1985-02-07", GEDUNG_WANI, "petani", PHONE_INVALID_ROW, "", "", "", "", ""]
    uploaded = upload(api(operator), csv_file([row, bad], COLUMNS))
    assert uploaded.status_code == 202, uploaded.json()
    import_job_run(job_id=uploaded.json()["id"])
    job = ImportJob.objects.get(pk=uploaded.json()["id"])
    assert (job.invalid_count, job.invalid_rows_file.name.endswith(".xlsx.enc")) == (1, True)
    stored = Path(job.invalid_rows_file.path).read_bytes()
    assert stored[:4] == b"PII1"
    assert not zipfile.is_zipfile(io.BytesIO(stored))
    sheet = zipfile.ZipFile(io.BytesIO(invalid_rows_read(job) or b""))
    assert NIK_INVALID_ROW in b"".join(sheet.read(n) for n in sheet.namelist()).decode()  # the service reads it

    # An import that fails on an unexpected error once its file has been read: the upload is kept
    # for a retry (IMPORT_FAILED_FILE_DAYS), sealed, as it was while the job ran.
    kept = [NIK_FAILED_IMPORT, "Wartini", "P", "1980-11-11", GEDUNG_WANI, "petani", PHONE_FAILED_IMPORT,
            "", "", "", "", ""]  # fmt: skip
    failing = upload(api(operator), csv_file([kept], COLUMNS), name="gagal.csv")
    assert failing.status_code == 202, failing.json()
    while_running: list[bytes] = []

    def fault(context, chunk, offset):
        assert chunk[0].nik == NIK_FAILED_IMPORT  # the job read the row from the sealed upload
        while_running.append(Path(context.job.file.path).read_bytes())
        raise RuntimeError("a bug")

    monkeypatch.setattr(processing, "_run_chunk", fault)
    import_job_run(job_id=failing.json()["id"])
    monkeypatch.undo()
    failed = ImportJob.objects.get(pk=failing.json()["id"])
    assert (failed.status, failed.file.name) == ("failed", f"imports/{failed.id}.csv.enc")
    assert [blob[:4] for blob in while_running] == [b"PII1"]
    assert Path(failed.file.path).read_bytes()[:4] == b"PII1"

    # A death: the claim copies the heirs, which are then corrected on the claim.
    death = {"date_of_death": "2026-11-20", "cause": "other", "place": "Rumah"}
    reported = client.post(f"/api/v1/workers/{body['id']}/death", death, format="json")
    assert reported.status_code == 201, reported.json()
    heirs = [{"name": "Rahmat", "relationship": "child", "nik": NIK_CLAIM_HEIR, "phone": PHONE_CLAIM_HEIR}]
    patched = client.patch(f"/api/v1/claims/{reported.json()['id']}", {"heirs": heirs}, format="json")
    assert patched.status_code == 200, patched.json()
    assert Claim.objects.get(pk=reported.json()["id"]).heirs[0]["nik"] == NIK_CLAIM_HEIR

    # A registry batch: the body frozen at the claim holds NIKs and phones.
    make_verified(1, nik=NIK_REGISTRY, kk_number=KK_REGISTRY)
    batch = registry_batch_claim()
    assert batch is not None
    assert NIK_REGISTRY in RegistryBatch.objects.get(pk=batch.pk).payload  # readable by the service

    # A sync pull (full NIKs go to the officer's device) and a push kept in quarantine.
    pulled = pull(client)
    assert NIK_A in [w["nik"] for w in pulled["changes"]["workers"]["created"]]
    response = push(
        client, pulled["timestamp"], changes({"created": [flat_worker(village=VILLAGE_B, nik=NIK_QUARANTINE)]})
    )
    assert response.json()["quarantined"][0]["code"] == "village_not_allowed"

    # A careless log line is masked by the handler's filter.
    logging.getLogger("enrolment").warning("looked up %s and %s", NIK_A, PHONE_A)

    dump = dump_database()
    assert body["id"] in dump  # the dump is of this test's database
    assert found_in(dump) == []
    log_text = service_log.getvalue()
    assert "looked up 1704" in log_text  # the line is there, masked
    assert found_in(log_text) == []
    assert found_in(redis_contents()) == []
    assert Path(failed.file.path).exists()  # the scan below reads the failed job's kept upload
    files = [p.read_bytes().decode("utf-8", "replace") for p in Path(tmp_path).rglob("*") if p.is_file()]
    assert [found_in(text) for text in files if found_in(text)] == []
