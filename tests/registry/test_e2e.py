"""End to end: a real Celery worker process and beat, real Redis, the registry stub as its own
process over HTTP, and the test database (committed data) shared with the worker.

Each test runs on its own queue, so parallel test runs on one Redis never take each other's
messages; the Redis restart test gets a redis-server of its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from enrolment.models import Enrolment, Status
from enrolment.registry.models import BatchStatus, RegistryBatch, RegistryChange
from enrolment.registry.tasks import registry_reconcile
from tests.conftest import GEDUNG_WANI, committed
from tests.registry.conftest import FAST_REGISTRY_ENV, REGISTRY_KEY, REGISTRY_PARTNER, make_verified
from villages.models import AuditEvent, Role

pytestmark = [pytest.mark.e2e, committed]

REPOSITORY = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, on_timeout: Callable[[], str] = str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{on_timeout()}")
        time.sleep(0.2)


@dataclass
class Stack:
    """The processes of one test: the stub, a Celery worker, Celery beat (and maybe a redis-server)."""

    tmp: Path
    queue: str = field(default_factory=lambda: f"e2e-{uuid.uuid4().hex[:12]}")
    redis_url: str = ""
    stub_url: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    redis_port: int = 0

    # -- processes -------------------------------------------------------------------------

    def _start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 (our own commands)
            command,
            cwd=REPOSITORY,
            env=env or os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: a kill takes the worker's pool processes with it.
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, sig)
        process.wait(20)

    def stop_all(self) -> None:
        """Stops every process, then removes this test's queue from the shared Redis (messages
        a stopped worker gave back, retries nobody will run)."""
        for name in list(self.processes):
            process = self.processes[name]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
            self.processes.pop(name)
        if not self.redis_port:
            shared = redis.Redis.from_url(settings.REDIS_URL)
            for key in list(shared.scan_iter(f"*{self.queue}*")):
                shared.delete(key)
            shared.close()

    def start_redis(self) -> None:
        """A redis-server of this test's own, without persistence: a restart loses every message."""
        self.redis_port = self.redis_port or free_port()
        self._start(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        )
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        wait_for(self._redis_answers, timeout=10, what="redis-server")

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start_stub(self, **faults: Any) -> None:
        port_file = self.tmp / "stub.port"
        port_file.unlink(missing_ok=True)
        self._start(
            "stub",
            [sys.executable, "-m", "registry_stub", "--port", "0", "--port-file", str(port_file), "--quiet",
             "--data-dir", str(self.tmp / "registry"), "--api-key", REGISTRY_KEY, "--partner-id", REGISTRY_PARTNER],
        )  # fmt: skip
        wait_for(port_file.exists, timeout=20, what="the registry stub", on_timeout=lambda: self.log("stub"))
        self.stub_url = f"http://127.0.0.1:{int(port_file.read_text())}"
        self.faults(**faults)

    def faults(self, **faults: Any) -> None:
        assert httpx.put(f"{self.stub_url}/_stub/faults", json=faults, timeout=10).status_code == 200

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.stub_url}/_stub/stats", timeout=30).json()

    def env(self, **extra: str) -> dict[str, str]:
        database = connection.settings_dict
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "CELERY_"))},
            # The test database, where the test's committed rows are.
            "DATABASE_URL": (
                f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}"
                f":{database['PORT'] or 5432}/{database['NAME']}"
            ),
            "REDIS_URL": self.redis_url or settings.REDIS_URL,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_QUEUE_PREFIX": f"{self.queue}.",
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "REGISTRY_URL": self.stub_url,
            "REGISTRY_API_KEY": REGISTRY_KEY,
            "REGISTRY_PARTNER_ID": REGISTRY_PARTNER,
            **FAST_REGISTRY_ENV,
            "REGISTRY_BATCH_SIZE": "200",
            "LOG_LEVEL": "INFO",
            **extra,
        }

    def start_worker(self, **env: str) -> None:
        name = f"worker-{uuid.uuid4().hex[:6]}"
        self._start(
            "worker",
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "2",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@localhost"],
            self.env(**env),
        )  # fmt: skip
        wait_for(lambda: f"{name}@localhost ready" in self.log("worker"), timeout=60, what="the Celery worker",
                 on_timeout=lambda: self.log("worker")[-3000:])  # fmt: skip

    def start_beat(self, **env: str) -> None:
        self._start(
            "beat",
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO", "--max-interval", "1",
             "--schedule", str(self.tmp / "beat-schedule")],
            self.env(**env),
        )  # fmt: skip

    def diagnose(self) -> str:
        batches = list(RegistryBatch.objects.values_list("status", "attempts", "failures", "last_error_code"))
        return f"batches: {batches}\n--- worker\n{self.log('worker')[-4000:]}\n--- beat\n{self.log('beat')[-1500:]}"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp=tmp_path)
    before = celery_app.conf.task_default_queue, celery_app.conf.get("queue_prefix", "")
    # What this test process sends (an operator's retry, a task it starts) goes to its queues too.
    celery_app.conf.task_default_queue = running.queue
    celery_app.conf.queue_prefix = f"{running.queue}."
    try:
        yield running
    finally:
        celery_app.conf.task_default_queue, celery_app.conf.queue_prefix = before
        running.stop_all()


def all_active(count: int) -> Callable[[], bool]:
    return lambda: Enrolment.objects.filter(status=Status.ACTIVE).count() == count


def assert_registered_once(stack: Stack, enrolments: list[Enrolment]) -> dict[str, Any]:
    """Every enrolment active with its own number, and the registry counted one registration each."""
    stats = stack.stats()
    assert stats["refs_registered_more_than_once"] == []
    assert stats["registrations_per_ref"] == {e.id: 1 for e in enrolments}
    numbers = dict(Enrolment.objects.values_list("id", "registry_number"))
    assert len(set(numbers.values())) == len(enrolments)
    held = httpx.get(f"{stack.stub_url}/_stub/participants", timeout=30).json()["participants"]
    assert {row["ref"]: row["participant_number"] for row in held} == numbers
    # One audited move to active per enrolment: nothing was applied twice.
    moves = AuditEvent.objects.filter(object_type="enrolment", changes__status=["queued", "active"])
    assert moves.count() == len(enrolments)
    return stats


def test_2000_enrolments_through_a_faulty_registry_are_registered_exactly_once(stack):
    enrolments = make_verified(2000)
    # Seeded: the faults strike the registry's requests in a fixed order, whichever batch sends
    # them (with seed 14 every kind strikes at least twice before 20 batches get through).
    faults = {"error_5xx": 0.3, "timeout": 0.1, "rate_limit_429": 0.05, "drop_after_process": 0.05}
    stack.start_stub(**faults, timeout_seconds=3, seed=14)
    stack.start_worker(REGISTRY_BATCH_SIZE="100")
    stack.start_beat(REGISTRY_BATCH_SIZE="100")

    wait_for(all_active(2000), timeout=240, what="2,000 active enrolments", on_timeout=stack.diagnose)

    stats = assert_registered_once(stack, enrolments)
    assert set(RegistryBatch.objects.values_list("status", flat=True)) == {BatchStatus.COMPLETED}
    # Batches of at most 100: 20 of them, or a few more when two cycles claimed at the same
    # moment (each skips the rows the other holds, so a batch can come out short).
    sizes = list(RegistryBatch.objects.values_list("record_count", flat=True))
    batches = len(sizes)
    assert (sum(sizes), max(sizes), batches >= 20) == (2000, 100, True)
    assert min(stats["faults"][kind] for kind in faults) >= 2, stats["faults"]
    # Resends after lost answers and timeouts were answered with the registry's first answer.
    assert stats["batches"]["processed"] == batches
    assert stats["batches"]["replayed"] >= 2
    assert RegistryBatch.objects.filter(attempts__gt=1).count() >= 5


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(stack):
    enrolments = make_verified(1000)
    # A redis-server of its own: the killed worker's unacknowledged messages stay in it.
    stack.start_redis()
    # Every answer comes 0.8 s after the registry processed the batch: a kill lands in that gap.
    stack.start_stub(slow=1, slow_seconds=0.8)
    stack.start_worker()
    stack.start_beat()

    wait_for(
        lambda: (
            RegistryBatch.objects.filter(status=BatchStatus.SENDING).exists() and stack.stats()["batches"]["processed"]
        ),
        timeout=60,
        what="a batch in flight",
        on_timeout=stack.diagnose,
    )
    time.sleep(0.2)
    stack.kill("worker")
    in_flight = list(RegistryBatch.objects.filter(status=BatchStatus.SENDING).values_list("id", flat=True))
    assert in_flight, stack.diagnose()
    time.sleep(1)
    stack.start_worker()

    wait_for(all_active(1000), timeout=120, what="1,000 active enrolments", on_timeout=stack.diagnose)

    stats = assert_registered_once(stack, enrolments)
    resumed = RegistryBatch.objects.filter(id__in=in_flight)
    assert set(resumed.values_list("status", flat=True)) == {BatchStatus.COMPLETED}
    assert set(resumed.values_list("last_error_code", flat=True)) == {"lease_expired"}
    assert min(resumed.values_list("attempts", flat=True)) >= 2
    assert stats["batches"]["replayed"] >= 1


def test_a_redis_restart_mid_run_loses_and_duplicates_nothing(stack):
    enrolments = make_verified(1000)
    stack.start_redis()
    stack.start_stub(slow=1, slow_seconds=0.4, error_5xx=0.2)
    stack.start_worker()
    stack.start_beat()

    wait_for(
        lambda: RegistryBatch.objects.filter(status=BatchStatus.COMPLETED).exists(),
        timeout=60,
        what="a first completed batch",
        on_timeout=stack.diagnose,
    )
    stack.kill("redis")  # every queued nudge and retry is gone with it
    assert Enrolment.objects.filter(status=Status.ACTIVE).count() < 1000, "finished before the restart"
    time.sleep(1.5)
    stack.start_redis()

    wait_for(all_active(1000), timeout=180, what="1,000 active enrolments", on_timeout=stack.diagnose)

    assert_registered_once(stack, enrolments)
    assert set(RegistryBatch.objects.values_list("status", flat=True)) == {BatchStatus.COMPLETED}
    # The worker did lose its broker mid-run (and found it again).
    assert "Connection to broker lost" in stack.log("worker")


def test_a_refused_batch_stays_failed_and_visible_until_an_operator_retries_it(stack, api, make_user):
    enrolments = make_verified(10)
    (no_income,) = make_verified(1, monthly_income=None)
    stack.start_stub()
    stack.start_worker()
    stack.start_beat()
    operator = api(make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,)))

    batch = wait_for(
        lambda: RegistryBatch.objects.filter(status=BatchStatus.FAILED).first(),
        timeout=60,
        what="the refused batch",
        on_timeout=stack.diagnose,
    )
    time.sleep(2)  # further cycles leave it alone

    listed = operator.get("/api/v1/registry/batches", {"status": "failed"}).json()["results"]
    shown = operator.get(f"/api/v1/registry/batches/{batch.id}").json()
    assert [b["id"] for b in listed] == [str(batch.id)]
    assert (shown["status"], shown["last_error"]["code"], shown["last_error"]["http_status"]) == (
        "failed", "invalid_record", 400,
    )  # fmt: skip
    assert [r["enrolment"] for r in shown["results"] if r["error"]] == [no_income.id]
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.QUEUED}
    assert stack.stats()["registrations_per_ref"] == {}
    assert RegistryBatch.objects.get(pk=batch.pk).attempts == 1

    officer = api(make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,)))
    fixed = officer.patch(f"/api/v1/workers/{no_income.worker_id}", {"monthly_income": 750_000}, format="json")
    assert fixed.status_code == 200
    retried = operator.post(f"/api/v1/registry/batches/{batch.id}/retry")
    assert retried.status_code == 202

    wait_for(all_active(11), timeout=60, what="the retried batch", on_timeout=stack.diagnose)
    assert_registered_once(stack, [*enrolments, no_income])
    assert RegistryBatch.objects.get(pk=batch.pk).status == BatchStatus.COMPLETED


def test_reconciliation_applies_a_deceased_change_once_though_the_page_is_fetched_again(stack):
    enrolments = make_verified(5)
    stack.start_stub()
    stack.start_worker(REGISTRY_RECONCILE_MAX_PAGES="3")
    stack.start_beat()
    wait_for(all_active(5), timeout=60, what="5 active enrolments", on_timeout=stack.diagnose)
    deceased = Enrolment.objects.get(pk=enrolments[2].pk)
    change = {"ref": deceased.id, "status": "deceased", "effective_date": "2026-12-20", "reason": "klaim JKM"}
    assert httpx.post(f"{stack.stub_url}/_stub/changes", json=change, timeout=10).status_code == 201
    # The feed serves the page again and again (its cursor does not move past it).
    stack.faults(changes_repeat=1)

    for fetched in (3, 6):  # two runs of three pages each
        registry_reconcile.delay()
        wait_for(lambda n=fetched: RegistryChange.objects.count() == n, timeout=60, what=f"{fetched} changes read",
                 on_timeout=stack.diagnose)  # fmt: skip
    stack.faults()
    registry_reconcile.delay()
    wait_for(
        lambda: RegistryChange.objects.count() == 7, timeout=60, what="the cursor to move", on_timeout=stack.diagnose
    )

    deceased_now = Enrolment.objects.get(pk=deceased.pk)
    assert (deceased_now.status, deceased_now.registry_status) == (Status.ENDED, "deceased")
    assert deceased_now.status_reason == "registry: deceased, effective 2026-12-20: klaim JKM"
    assert deceased_now.version == deceased.version + 1
    ended = AuditEvent.objects.filter(object_id=deceased.id, changes__status=["active", "ended"])
    assert ended.count() == 1
    outcomes = list(RegistryChange.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["applied"] + ["unchanged"] * 6
    assert stack.stats()["requests"]["GET /v1/participants/changes"]["200"] == 7
    assert set(Enrolment.objects.exclude(pk=deceased.pk).values_list("status", flat=True)) == {Status.ACTIVE}
