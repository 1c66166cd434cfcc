"""The invalid rows' spreadsheet of an import is encrypted at rest, opens only for its own job,
and is deleted (never served) when it does not open."""

from __future__ import annotations

import io
import zipfile

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from config.pii import FILE_MAGIC, decrypt_bytes, encrypt_bytes, keyring
from enrolment.imports.models import ImportJob
from enrolment.imports.services import import_job_run
from tests.panel.test_imports import BAD_NIK, GOOD_2, csv_file

BAD_ROW_NIK, BAD_ROW_NAME = BAD_NIK[0], BAD_NIK[1]


def run_import(client, operator):
    client.force_login(operator)
    client.post("/panel/impor/", {"file": SimpleUploadedFile("warga.csv", csv_file([GOOD_2, BAD_NIK]))})
    job = ImportJob.objects.get()
    import_job_run(job_id=job.id)
    job.refresh_from_db()
    return job


def test_the_stored_file_is_sealed_and_the_download_opens_it(client, operator, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    job = run_import(client, operator)

    assert job.invalid_rows_file.name == f"imports/invalid/{job.id}.xlsx.enc"
    stored = (tmp_path / "imports" / "invalid" / f"{job.id}.xlsx.enc").read_bytes()
    assert stored[: len(FILE_MAGIC) + 8] == FILE_MAGIC + keyring().current_id.encode()
    assert not zipfile.is_zipfile(io.BytesIO(stored))  # not an XLSX: nothing to unzip and read
    opened = decrypt_bytes(stored, context=f"import-invalid-rows:{job.id}")
    for text in (BAD_ROW_NIK, BAD_ROW_NAME):
        assert text.encode() not in stored
        assert text.encode() in b"".join(
            zipfile.ZipFile(io.BytesIO(opened)).read(n) for n in zipfile.ZipFile(io.BytesIO(opened)).namelist()
        )
    # The upload itself is gone once the job is done; only the sealed file remains.
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        f"imports/invalid/{job.id}.xlsx.enc"
    ]

    download = client.get(f"/panel/impor/{job.id}/tidak-valid.xlsx")

    assert download.status_code == 200
    rows = [list(r) for r in load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True)]
    assert [r[:2] for r in rows] == [["NIK", "Nama Lengkap"], [BAD_ROW_NIK, BAD_ROW_NAME]]


def test_a_file_that_does_not_open_for_its_job_is_deleted_not_served(client, operator, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    job = run_import(client, operator)
    # Another job's sealed file, then a plaintext one (as stored before files were encrypted).
    for body in (encrypt_bytes(b"PK-other", context="import-invalid-rows:other"), b"PK\x03\x04plain"):
        job.invalid_rows_file.delete(save=False)
        job.invalid_rows_file.save(f"{job.id}.xlsx.enc", ContentFile(body), save=True)

        assert client.get(f"/panel/impor/{job.id}/tidak-valid.xlsx").status_code == 404
        job.refresh_from_db()
        assert job.invalid_rows_file.name == ""
        assert list((tmp_path / "imports" / "invalid").iterdir()) == []
