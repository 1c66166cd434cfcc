"""End to end: a real Celery worker killed (SIGKILL, pool and all) in the middle of an import.

The killed run leaves its committed chunks and a job `running` whose message nobody will deliver
again soon (acks_late holds it until the broker's visibility timeout, hours). The sweeper finds
the job silent, nudges it, and a new worker resumes after the last committed chunk: every row
stored once, none twice.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from config.celery import app as celery_app
from enrolment.imports.models import ImportJob, ImportRow, ImportStatus
from enrolment.imports.services import import_jobs_sweep
from tests.conftest import committed
from tests.panel.test_import_recovery import rows
from tests.panel.test_imports import csv_file
from tests.registry.test_e2e import Stack, wait_for
from villages.models import Role
from workers.models import Worker

pytestmark = [pytest.mark.e2e, committed]

# Small chunks and enough rows that the worker is still busy when the test kills it, even on an
# idle machine (a chunk commits its progress, so the kill lands between two chunks).
ROWS = 6000


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp=tmp_path)
    # The upload's and the sweeper's nudges go to this stack's worker (config/queues.py routes by
    # workload under the queue prefix the stack's worker is started with).
    before = celery_app.conf.task_default_queue, celery_app.conf.get("queue_prefix", "")
    celery_app.conf.task_default_queue = running.queue
    celery_app.conf.queue_prefix = f"{running.queue}."
    try:
        yield running
    finally:
        celery_app.conf.task_default_queue, celery_app.conf.queue_prefix = before
        running.stop_all()


def test_an_import_whose_worker_is_killed_midway_is_swept_and_finished(stack, api, make_user, settings):
    operator = make_user(role=Role.VILLAGE_OPERATOR, username="operator-kill")
    worker_env = {"IMPORT_CHUNK_ROWS": "25", "MEDIA_ROOT": settings.MEDIA_ROOT}
    stack.start_worker(**worker_env)
    response = api(operator).post(
        "/api/v1/imports", {"file": SimpleUploadedFile("besar.csv", csv_file(rows(ROWS)))}, format="multipart"
    )
    assert response.status_code == 202
    job_id = response.json()["id"]
    job = ImportJob.objects.filter(pk=job_id)

    wait_for(lambda: job.get().processed_rows >= 100, timeout=120, what="a few chunks", on_timeout=stack.diagnose)
    process = stack.processes.pop("worker")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(20)
    killed_at = job.get()
    assert killed_at.status == ImportStatus.RUNNING
    assert 100 <= killed_at.processed_rows < ROWS, "finished before the kill"
    assert killed_at.file.name != ""

    stack.start_worker(**worker_env)
    # Nothing happens until the sweeper sees the job silent (here: made to look silent for longer
    # than IMPORT_STALL_SECONDS, rather than waiting ten minutes).
    past = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALL_SECONDS + 1)
    job.update(heartbeat_at=past)
    assert import_jobs_sweep()["restarted"] == 1

    wait_for(
        # The job is marked completed first, then its upload is deleted (not transactional, so
        # after the commit): wait for both, or a loaded machine reads between the two.
        lambda: job.filter(status=ImportStatus.COMPLETED, file="").exists(), timeout=180, what="the job to finish",
        on_timeout=lambda: f"{list(job.values_list('status', 'processed_rows', 'error'))}\n{stack.log('worker')[-3000:]}",
    )  # fmt: skip
    done = job.get()
    assert (done.processed_rows, done.total_rows, done.created_count, done.invalid_count) == (ROWS, ROWS, ROWS, 0)
    assert done.attempts == 2
    assert done.file.name == ""
    numbers = list(ImportRow.objects.filter(job_id=job_id).values_list("row_number", flat=True))
    assert sorted(numbers) == list(range(2, ROWS + 2))  # every row once
    assert Worker.objects.count() == ROWS
