"""Import jobs with the outbox's discipline: a lost nudge, a dead task or worker, a retry.

The job row is the outbox: the broker only nudges. A nudge that cannot be sent is tolerated, a
job without a heartbeat is started again by the sweeper, a run that crashes ends `failed` with
its reason (never `running` for ever), an operator can retry it, and uploading the same file
again restarts it, resuming after the rows it had committed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from enrolment.imports import tasks
from enrolment.imports.models import ImportJob, ImportRow, ImportStatus
from enrolment.imports.services import import_job_run, import_jobs_sweep, processing
from tests.conftest import GEDUNG_WANI
from tests.factories import make_nik
from tests.panel.test_imports import GOOD_1, GOOD_2, csv_file, upload
from villages.models import AuditEvent
from workers.models import Worker


def rows(count: int) -> list[list[str]]:
    return [
        [make_nik(dt.date(1980, 1, 1) + dt.timedelta(days=n), serial=n + 1), "Warga Desa", "L",
         (dt.date(1980, 1, 1) + dt.timedelta(days=n)).strftime("%d-%m-%Y"), GEDUNG_WANI, "petani",
         "", "", "", "", "", ""]
        for n in range(count)
    ]  # fmt: skip


@pytest.fixture
def nudges(monkeypatch):
    """The job ids the broker was asked to run (nothing reaches a real broker)."""
    sent: list[str] = []
    monkeypatch.setattr(tasks.import_run, "delay", lambda job_id: sent.append(job_id))
    return sent


def age(job_id, seconds):
    """Makes the job look silent for `seconds`."""
    past = timezone.now() - dt.timedelta(seconds=seconds)
    ImportJob.objects.filter(pk=job_id).update(heartbeat_at=past, created_at=past)


def test_a_broker_error_at_the_nudge_is_tolerated_and_the_sweeper_starts_the_job(
    api, operator, monkeypatch, settings, django_capture_on_commit_callbacks
):
    def broker_down(job_id):
        raise BrokerError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(tasks.import_run, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api(operator), csv_file([GOOD_1, GOOD_2]))
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert ImportJob.objects.get(pk=job_id).status == ImportStatus.QUEUED

    sent: list[str] = []
    monkeypatch.setattr(tasks.import_run, "delay", lambda job_id: sent.append(job_id))
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_sweep() == {"restarted": 0, "failed": 0, "files_deleted": 0}  # not silent long enough
    age(job_id, settings.IMPORT_STALL_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_sweep() == {"restarted": 1, "failed": 0, "files_deleted": 0}
    assert sent == [job_id]
    import_job_run(job_id=job_id)  # what the nudged worker does
    job = ImportJob.objects.get(pk=job_id)
    assert (job.status, job.created_count, job.attempts, job.file.name) == (ImportStatus.COMPLETED, 2, 1, "")


def test_a_crashing_run_ends_failed_with_its_reason_and_an_operator_retry_finishes_it(
    api, operator, monkeypatch, settings, nudges, django_capture_on_commit_callbacks
):
    settings.IMPORT_CHUNK_ROWS = 2
    client = api(operator)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = upload(client, csv_file(rows(5))).json()["id"]
    real_chunk = processing._run_chunk
    calls = {"n": 0}

    def crash_on_the_second_chunk(context, chunk, offset):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("a bug")
        real_chunk(context, chunk, offset)

    monkeypatch.setattr(processing, "_run_chunk", crash_on_the_second_chunk)
    import_job_run(job_id=job_id)

    body = client.get(f"/api/v1/imports/{job_id}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (body["status"], body["retryable"], body["attempts"], body["progress"]["processed_rows"]) == (
        "failed", True, 1, 2
    )  # fmt: skip
    assert (
        body["error"] == "Impor berhenti karena galat tak terduga (RuntimeError). Galat sudah dicatat; coba lagi nanti."
    )
    assert Worker.objects.count() == 2  # the first chunk stays committed

    monkeypatch.setattr(processing, "_run_chunk", real_chunk)
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(f"/api/v1/imports/{job_id}/retry")
    assert (retried.status_code, retried.json()["status"], retried.json()["error"]) == (202, "queued", None)
    assert nudges == [job_id, job_id]
    import_job_run(job_id=job_id)
    job = ImportJob.objects.get(pk=job_id)
    assert (job.status, job.processed_rows, job.created_count, job.invalid_count) == (ImportStatus.COMPLETED, 5, 5, 0)
    assert sorted(ImportRow.objects.filter(job=job).values_list("row_number", flat=True)) == [2, 3, 4, 5, 6]
    assert Worker.objects.count() == 5
    stages = [e.context["stage"] for e in AuditEvent.objects.filter(object_type="import_job").order_by("id")]
    assert stages == ["uploaded", "retried", "completed"]
    # Completed: nothing to retry.
    again = client.post(f"/api/v1/imports/{job_id}/retry", HTTP_ACCEPT_LANGUAGE="en")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "import_not_retryable")


def test_uploading_the_file_of_a_failed_job_again_restarts_that_job(
    api, operator, monkeypatch, nudges, django_capture_on_commit_callbacks
):
    client = api(operator)
    content = csv_file([GOOD_1, GOOD_2])
    with django_capture_on_commit_callbacks(execute=True):
        job_id = upload(client, content).json()["id"]
    monkeypatch.setattr(processing, "_process", lambda job, user: (_ for _ in ()).throw(RuntimeError("a bug")))
    import_job_run(job_id=job_id)
    assert ImportJob.objects.get(pk=job_id).status == ImportStatus.FAILED
    monkeypatch.undo()
    monkeypatch.setattr(tasks.import_run, "delay", lambda job_id: nudges.append(job_id))

    with django_capture_on_commit_callbacks(execute=True):
        again = upload(client, content)
    assert (again.status_code, again.json()["id"], again.json()["status"]) == (202, job_id, "queued")
    assert ImportJob.objects.count() == 1
    import_job_run(job_id=job_id)
    job = ImportJob.objects.get(pk=job_id)
    assert (job.status, job.created_count, job.error) == (ImportStatus.COMPLETED, 2, "")


def test_a_job_that_keeps_stopping_ends_failed_with_the_reason(api, operator, settings, nudges):
    settings.IMPORT_MAX_ATTEMPTS = 2
    job_id = upload(api(operator), csv_file([GOOD_1])).json()["id"]
    ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.RUNNING, attempts=2)
    age(job_id, settings.IMPORT_STALL_SECONDS + 1)

    assert import_jobs_sweep() == {"restarted": 0, "failed": 1, "files_deleted": 0}
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == ImportStatus.FAILED
    assert job.error.startswith("Impor berhenti 2 kali tanpa selesai")
    assert job.file.name != ""  # kept for a retry
    assert nudges == []

    # Its file is deleted once failed jobs' files have been kept long enough.
    ImportJob.objects.filter(pk=job_id).update(finished_at=timezone.now() - dt.timedelta(days=8))
    assert import_jobs_sweep() == {"restarted": 0, "failed": 0, "files_deleted": 1}
    response = api(operator).post(f"/api/v1/imports/{job_id}/retry", HTTP_ACCEPT_LANGUAGE="en")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "import_file_gone")
    assert ImportJob.objects.get(pk=job_id).status == ImportStatus.FAILED


def test_retry_is_for_operators_in_scope(api, operator, make_user, nudges):
    from villages.models import Role

    job_id = upload(api(operator), csv_file([GOOD_1])).json()["id"]
    neighbour = make_user(role=Role.VILLAGE_OPERATOR, areas=("17.04.01.2002",))
    assert api(neighbour).post(f"/api/v1/imports/{job_id}/retry").status_code == 404
    viewer = make_user(role=Role.SUPERVISOR, areas=("17.04",))
    assert api(viewer).post(f"/api/v1/imports/{job_id}/retry").status_code == 403
    # Queued: on its way already.
    response = api(operator).post(f"/api/v1/imports/{job_id}/retry")
    assert (response.status_code, response.json()["status"]) == (200, "queued")


def test_a_broker_lost_after_the_rows_are_stored_leaves_the_job_completed(
    api, operator, monkeypatch, nudges, django_capture_on_commit_callbacks
):
    """The coverage-compaction nudge at the end of a job goes to the broker; Redis down at that
    moment once turned a completed job into a failed one (the Redis-restart test, CI)."""

    def broker_down():
        raise BrokerError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(processing.coverage_compact_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = upload(api(operator), csv_file([GOOD_1, GOOD_2])).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        import_job_run(job_id=job_id)

    job = ImportJob.objects.get(pk=job_id)
    assert (job.status, job.created_count, job.attempts, job.error) == (ImportStatus.COMPLETED, 2, 1, "")
    assert Worker.objects.count() == 2
