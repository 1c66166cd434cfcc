"""End to end: Redis restarted under a running Celery worker, run as ./scripts/run runs it (under
scripts/supervise, which starts it again if it exits); the worker is back and consuming within
30 s, and each job's effect is stored exactly once. The test used to fail (CI, 2026-12-02) because
its nudges went to the bare prefix queue, which no worker has listened to since the per-workload
queues (config/queues.py): the first job was never consumed, alone or under load."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from kombu import Connection

from config.queues import queue_for
from enrolment.imports import tasks
from enrolment.imports.models import ImportJob, ImportStatus
from tests.conftest import committed
from tests.panel.test_import_recovery import rows
from tests.panel.test_imports import csv_file
from tests.registry.test_e2e import REPOSITORY, Stack, wait_for
from villages.models import Role
from workers.models import Worker

pytestmark = [pytest.mark.e2e, committed]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp=tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def send(stack: Stack, job_id: str, timeout: float = 20) -> None:
    """The job's nudge, on the test's own Redis (retried while that Redis is still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with Connection(stack.redis_url, connect_timeout=1) as connection:
                # The worker listens on the per-workload queues (config/queues.py), under the stack's
                # prefix; a nudge on the bare `stack.queue` reaches no worker at all.
                queue = f"{stack.queue}.{queue_for(tasks.import_run.name)}"
                tasks.import_run.apply_async((job_id,), connection=connection, queue=queue, retry=False)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_worker_consumes_again_within_30_s_of_a_redis_restart(stack, api, make_user, monkeypatch, settings):
    monkeypatch.setattr(tasks.import_run, "delay", lambda job_id: None)  # nudges sent by hand below
    operator = make_user(role=Role.VILLAGE_OPERATOR, username="operator-redis")
    client = api(operator)

    def new_job(n: int) -> str:
        content = csv_file(rows(3)[n : n + 1])
        response = client.post(
            "/api/v1/imports", {"file": SimpleUploadedFile(f"r{n}.csv", content)}, format="multipart"
        )
        assert response.status_code == 202
        return response.json()["id"]

    def completed(job_id: str):
        return lambda: ImportJob.objects.get(pk=job_id).status == ImportStatus.COMPLETED

    stack.start_redis()
    log = stack.tmp / "worker.log"
    name = "supervised@localhost"
    stack._start(
        "worker",
        [str(REPOSITORY / "scripts" / "supervise"), str(log), sys.executable, "-m", "celery", "-A", "config", "worker",
         "--loglevel", "INFO", "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", name],
        stack.env(MEDIA_ROOT=settings.MEDIA_ROOT),
    )  # fmt: skip
    wait_for(lambda: f"{name} ready" in stack.log("worker"), timeout=60, what="the Celery worker",
             on_timeout=lambda: stack.log("worker")[-3000:])  # fmt: skip
    supervisor = stack.processes["worker"]
    first = new_job(0)
    send(stack, first)
    wait_for(completed(first), timeout=60, what="the first job", on_timeout=lambda: stack.log("worker")[-3000:])

    stack.kill("redis")
    time.sleep(1)
    stack.start_redis()  # same port, empty: every queued message is gone with the old one
    restarted = time.monotonic()
    second = new_job(1)
    send(stack, second)
    wait_for(completed(second), timeout=30, what="a job consumed after the restart",
             on_timeout=lambda: stack.log("worker")[-3000:])  # fmt: skip
    assert time.monotonic() - restarted < 30
    assert supervisor.poll() is None
    # Exactly once: each job ran one attempt and stored its one row, nothing more.
    jobs = ImportJob.objects.filter(pk__in=[first, second]).order_by("created_at")
    assert [(job.status, job.created_count, job.attempts) for job in jobs] == [(ImportStatus.COMPLETED, 1, 1)] * 2
    assert Worker.objects.count() == 2
    assert "Connection to broker lost" in stack.log("worker") or "scripts/supervise" in stack.log("worker")
