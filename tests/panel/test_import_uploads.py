"""An import's upload is sealed at rest (enrolment/imports/uploads.py): while its job runs and
when a failed job keeps it for a retry; an upload stored in plaintext before still runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from config.pii import decrypt_bytes
from enrolment.imports import tasks
from enrolment.imports.models import ImportJob, ImportStatus
from enrolment.imports.services import import_job_run, processing
from enrolment.imports.uploads import UploadFiles, upload_discard
from tests.panel.test_imports import GOOD_1, GOOD_2, csv_file, upload, xlsx_file
from tests.pii_keys import TEST_FIELD_ENCRYPTION_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def nudges(monkeypatch):
    """The job ids the broker was asked to run (nothing reaches a real broker)."""
    sent: list[str] = []
    monkeypatch.setattr(tasks.import_run, "delay", lambda job_id: sent.append(job_id))
    return sent


def stored(job: ImportJob) -> bytes:
    return Path(job.file.path).read_bytes()


def fail_with_a_bug(monkeypatch):
    monkeypatch.setattr(processing, "_process", lambda job, user: (_ for _ in ()).throw(RuntimeError("a bug")))


@pytest.mark.parametrize(("name", "make"), [("peserta.csv", csv_file), ("peserta.xlsx", xlsx_file)])
def test_the_upload_is_stored_sealed_and_the_job_reads_it(api, operator, nudges, name, make):
    content = make([GOOD_1, GOOD_2])
    response = upload(api(operator), content, name)
    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get(pk=response.json()["id"])
    fmt = name.rsplit(".", 1)[1]
    assert job.file.name == f"imports/{job.id}.{fmt}.enc"
    sealed = stored(job)
    assert (sealed[:4], GOOD_1[0].encode() in sealed, b"PK" in sealed[:16]) == (b"PII1", False, False)
    assert decrypt_bytes(sealed, context=f"import-upload:{job.id}") == content

    import_job_run(job_id=job.id)
    done = ImportJob.objects.get(pk=job.id)
    assert (done.status, done.created_count, done.error, done.file.name) == (ImportStatus.COMPLETED, 2, "", "")


def test_a_failed_jobs_kept_upload_is_sealed_and_its_retry_reads_it(api, operator, monkeypatch, nudges):
    client = api(operator)
    job_id = upload(client, csv_file([GOOD_1, GOOD_2])).json()["id"]
    fail_with_a_bug(monkeypatch)
    import_job_run(job_id=job_id)
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == ImportStatus.FAILED
    kept = stored(job)
    assert (kept[:4], GOOD_1[0].encode() in kept, GOOD_2[0].encode() in kept) == (b"PII1", False, False)

    monkeypatch.undo()
    response = client.post(f"/api/v1/imports/{job_id}/retry")
    assert (response.status_code, response.json()["status"]) == (202, "queued"), response.json()
    import_job_run(job_id=job_id)
    job = ImportJob.objects.get(pk=job_id)
    assert (job.status, job.created_count, job.error, job.file.name) == (ImportStatus.COMPLETED, 2, "", "")


def test_uploading_a_failed_jobs_file_again_stores_it_sealed(api, operator, monkeypatch, nudges, media):
    client = api(operator)
    content = csv_file([GOOD_1])
    job_id = upload(client, content).json()["id"]
    fail_with_a_bug(monkeypatch)
    import_job_run(job_id=job_id)
    monkeypatch.undo()

    again = upload(client, content)
    assert (again.status_code, again.json()["id"]) == (202, job_id)
    job = ImportJob.objects.get(pk=job_id)
    assert stored(job)[:4] == b"PII1"
    assert sorted(p.name for p in (media / "imports").iterdir()) == [f"{job_id}.csv.enc"]
    import_job_run(job_id=job_id)
    assert ImportJob.objects.get(pk=job_id).status == ImportStatus.COMPLETED


def test_an_upload_stored_in_plaintext_before_still_runs(api, operator, nudges):
    job_id = upload(api(operator), csv_file([GOOD_1])).json()["id"]
    job = ImportJob.objects.get(pk=job_id)
    job.file.delete(save=False)
    job.file.save(f"{job.id}.csv", ContentFile(csv_file([GOOD_1, GOOD_2])), save=True)  # as stored before
    assert stored(job).startswith(b"\xef\xbb\xbf")

    import_job_run(job_id=job_id)
    done = ImportJob.objects.get(pk=job_id)
    assert (done.status, done.created_count, done.file.name) == (ImportStatus.COMPLETED, 2, "")


def test_an_upload_under_a_dropped_key_fails_the_job_and_is_not_kept(api, operator, settings, nudges):
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY_OLD]
    body = {"file": SimpleUploadedFile("peserta.csv", csv_file([GOOD_1]))}
    job_id = api(operator).post("/api/v1/imports", body, format="multipart", HTTP_ACCEPT_LANGUAGE="en").json()["id"]
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY]

    import_job_run(job_id=job_id)
    done = ImportJob.objects.get(pk=job_id)
    assert (done.status, done.error, done.created_count, done.file.name) == (
        ImportStatus.FAILED,
        "The stored file of this import no longer opens. Upload it again.",
        0,
        "",
    )


def test_a_job_ending_after_a_reseal_leaves_no_file_behind(api, operator, settings, nudges, media):
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY_OLD]
    job_id = upload(api(operator), csv_file([GOOD_1])).json()["id"]
    ending = ImportJob.objects.get(pk=job_id)  # as the job's end read it
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD]
    assert UploadFiles().reencrypt() == (1, 0)  # a re-seal swaps in a new file meanwhile
    assert ImportJob.objects.get(pk=job_id).file.name != ending.file.name

    assert upload_discard(ending) is True
    assert (ImportJob.objects.get(pk=job_id).file.name, list((media / "imports").iterdir())) == ("", [])
    assert upload_discard(ending) is False  # nothing left to delete
