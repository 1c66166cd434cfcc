"""Past one machine, for real: four hosts in network namespaces of their own, made by the test.

    root namespace ("db" side, bridge 10.200.K.1): PostgreSQL primary, its streaming replica
        (pg_basebackup), PgBouncer (transaction mode) in front of the primary, redis-server, the
        registry stub with its faults on
    web1, web2 (10.200.K.11, .12): gunicorn -c deploy/gunicorn.conf.py config.wsgi
    work1, work2 (10.200.K.13, .14): celery -A config worker, per queue (beat on work1)

Each namespace has only its loopback and one veth into the bridge: a host reaches the others by
their bridge addresses only, as separate machines on a private network would. Then:
- a sync storm: several devices push at once, spread over both web hosts, every second push
  sent twice (to the other host, at the same moment: a lost answer resent);
- an operator verifies them all (the request resent too), and the registry sync runs on both
  worker hosts against a stub answering 5xx, 429, timeouts and lost answers;
- exactly one registration per enrolment at the registry and in our tables;
- the coverage report is read on the replica (its pg_stat_statements show the count query, the
  primary's do not) by either web host;
- the replica stopped, every request still answers 200, from the primary.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.deployment import PGBOUNCER, ROOT, Databases, backup, pgbouncer, primary_and_replica, run
from tests.registry.conftest import FAST_REGISTRY_ENV
from tests.registry.test_e2e import wait_for
from tests.sync.helpers import changes, flat_enrolment, flat_worker

pytestmark = pytest.mark.e2e

DEVICES, PUSHES, PER_PUSH = 6, 3, 10  # 180 people, each with one enrolment
ENROLMENTS = DEVICES * PUSHES * PER_PUSH
REGISTRY_KEY, REGISTRY_PARTNER = "multihost-registry-key", "desa-multihost"
YEAR = 2026
VILLAGE = "17.04.01.2001"
# The count query of the coverage report (enrolment/reports/coverage.py, COUNT_SQL).
COUNT_QUERY = "%FROM enrolment_coverage_enrolment%GROUP BY%"

# The users and device tokens, made in a child process on the primary itself.
SETUP = r"""
import json
from tests.factories import UserFactory, token_for
from villages.models import Role

officer = UserFactory(role=Role.FIELD_OFFICER, areas=["17.04.01.2001"], username="petugas")
operator = UserFactory(role=Role.VILLAGE_OPERATOR, areas=["17.04.01.2001"], username="operator")
viewer = UserFactory(role=Role.VIEWER, areas=["17.04"], username="dinas")
print(json.dumps({
    "devices": [token_for(officer, device_id=f"tablet-{n}") for n in range(int(__import__("sys").argv[2]))],
    "operator": token_for(operator, device_id="panel"),
    "viewer": token_for(viewer, device_id="dinas"),
}))
"""


@dataclass
class Network:
    """A bridge in the root namespace and namespaces hung on it by veth pairs."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:4])
    subnet: str = field(default_factory=lambda: f"10.200.{os.getpid() % 200 + 20}")
    hosts: dict[str, str] = field(default_factory=dict)  # namespace -> address
    made: bool = False

    @property
    def bridge(self) -> str:
        return f"mh{self.tag}br"

    @property
    def gateway(self) -> str:
        return f"{self.subnet}.1"

    def create_bridge(self) -> None:
        run(["ip", "link", "add", self.bridge, "type", "bridge"])
        self.made = True
        run(["ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])

    def add_host(self, name: str) -> str:
        namespace, address = f"mh{self.tag}-{name}", f"{self.subnet}.{11 + len(self.hosts)}"
        outside, inside = f"mh{self.tag}{len(self.hosts)}o", f"mh{self.tag}{len(self.hosts)}i"
        run(["ip", "netns", "add", namespace])
        self.hosts[namespace] = address
        run(["ip", "link", "add", outside, "type", "veth", "peer", "name", inside])
        run(["ip", "link", "set", outside, "master", self.bridge, "up"])
        run(["ip", "link", "set", inside, "netns", namespace])
        run(["ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", inside])
        run(["ip", "-n", namespace, "link", "set", inside, "up"])
        run(["ip", "-n", namespace, "link", "set", "lo", "up"])
        return namespace

    def remove(self) -> None:
        for namespace in self.hosts:  # its veth end goes with it, and so the bridge's end
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)  # noqa: S603, S607
        if self.made:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)  # noqa: S603, S607


def namespaces_permitted() -> bool:
    probe = f"mhprobe{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, check=False)  # noqa: S603, S607
    if made.returncode == 0:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)  # noqa: S603, S607
    return made.returncode == 0


@dataclass
class Hosts:
    network: Network
    databases: Databases
    tmp: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    web: list[str] = field(default_factory=list)  # base URLs of the two gunicorn hosts
    stub_url: str = ""
    control_url: str = ""

    def start(self, name: str, command: list[str], namespace: str | None = None) -> None:
        if namespace:
            command = ["ip", "netns", "exec", namespace, *command]
        log = (self.tmp / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(  # noqa: S603 (our own commands)
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)[-2500:]}" for name in self.processes)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def primary(self, sql: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.databases.primary_url) as conn:
            return conn.execute(sql, params).fetchall()

    def replica(self, sql: str, *params: Any) -> list[tuple]:
        url = f"postgres://postgres@127.0.0.1:{self.databases.replica_port}/enrolment"
        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


def _service_env(hosts: Hosts, bouncer_url: str, redis_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_", "REGISTRY_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": bouncer_url,
        "DATABASE_REPLICA_URL": hosts.databases.replica_url,
        "DATABASE_POOLER": "pgbouncer",
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": redis_url,
        "REPLICA_CHECK_SECONDS": "0",
        "REPLICA_PIN_SECONDS": "1",
        "DJANGO_SECRET_KEY": "multihost-test-secret-key-0123456789abcdefghij",
        "DJANGO_ALLOWED_HOSTS": "*",
        "FAST_PASSWORD_HASHING": "1",
        "REGISTRY_URL": hosts.stub_url,
        "REGISTRY_API_KEY": REGISTRY_KEY,
        "REGISTRY_PARTNER_ID": REGISTRY_PARTNER,
        **FAST_REGISTRY_ENV,  # the faults cost seconds
        "REGISTRY_BATCH_SIZE": "30",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[Hosts]:
    if not namespaces_permitted():
        pytest.skip("`ip netns add` is not permitted here (needs root or CAP_SYS_ADMIN)")
    if not Path(PGBOUNCER).exists():
        pytest.fail("pgbouncer is not installed (scripts/test installs Debian's package)")
    network = Network()
    try:
        network.create_bridge()
        web = [network.add_host("web1"), network.add_host("web2")]
        work = [network.add_host("work1"), network.add_host("work2")]
        gateway = network.gateway
        server_options = "-c shared_preload_libraries=pg_stat_statements"
        with primary_and_replica(host=gateway, server_options=server_options) as databases:
            with psycopg.connect(databases.primary_url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION pg_stat_statements")  # replayed on the replica
            with pgbouncer(databases, pool_size=8) as bouncer_url:
                running = Hosts(network=network, databases=databases, tmp=tmp_path)
                try:
                    _start_everything(running, web, work, bouncer_url)
                    yield running
                finally:
                    running.stop_all()
    finally:
        network.remove()


def _start_everything(hosts: Hosts, web: list[str], work: list[str], bouncer_url: str) -> None:
    gateway = hosts.network.gateway
    redis_port = backup.free_port()
    hosts.env = dict(os.environ)
    # Protected mode off: the other hosts are not loopback clients, and it listens on the bridge only.
    hosts.start("redis", ["redis-server", "--port", str(redis_port), "--bind", gateway, "--protected-mode", "no",
                          "--save", "", "--appendonly", "no"])  # fmt: skip
    port_file = hosts.tmp / "stub.port"
    # Every address of the root namespace: the worker hosts call it on the bridge, and the test
    # uses its control API (/_stub), which answers loopback clients only, on 127.0.0.1.
    hosts.start("stub", [sys.executable, "-m", "registry_stub", "--host", "0.0.0.0", "--port", "0", "--port-file",  # noqa: S104
                         str(port_file), "--quiet", "--data-dir", str(hosts.tmp / "registry"),
                         "--api-key", REGISTRY_KEY, "--partner-id", REGISTRY_PARTNER])  # fmt: skip
    wait_for(port_file.exists, timeout=20, what="the registry stub", on_timeout=hosts.logs)
    hosts.stub_url = f"http://{gateway}:{int(port_file.read_text())}"
    hosts.control_url = f"http://127.0.0.1:{int(port_file.read_text())}/_stub"
    hosts.env = _service_env(hosts, bouncer_url, f"redis://{gateway}:{redis_port}/0")

    for n, namespace in enumerate(web):
        address = hosts.network.hosts[namespace]
        hosts.env.update(GUNICORN_BIND=f"{address}:8000", GUNICORN_WORKERS="2",
                         PROMETHEUS_MULTIPROC_DIR=str(hosts.tmp / f"metrics-{n}"))  # fmt: skip
        # One machine's filesystem: each master its own control socket (the default is per user).
        hosts.start(f"web{n + 1}", [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                    "--control-socket", str(hosts.tmp / f"web{n + 1}.ctl"), "config.wsgi"],
                    namespace)  # fmt: skip
        hosts.web.append(f"http://{address}:8000")
    for key in ("GUNICORN_BIND", "GUNICORN_WORKERS", "PROMETHEUS_MULTIPROC_DIR"):
        hosts.env.pop(key)
    # Both worker hosts take the registry queue (they compete for the same batches); the other
    # queues are split between them, and beat (exactly one) runs on the first.
    for n, (namespace, queues) in enumerate(
        zip(work, ("registry,maintenance", "registry,reports,imports"), strict=True)
    ):
        hosts.start(f"work{n + 1}", [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues,
                                     "--loglevel", "INFO", "--concurrency", "2", "--without-gossip",
                                     "--without-mingle", "--without-heartbeat", "-n", f"work{n + 1}@%h"],
                    namespace)  # fmt: skip
    hosts.start("beat", [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                         "--max-interval", "1", "--schedule", str(hosts.tmp / "beat-schedule")], work[0])  # fmt: skip

    def all_up() -> bool:
        for base in hosts.web:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code != 200:
                    return False
            except httpx.HTTPError:
                return False
        return all(" ready." in hosts.log(f"work{n}") for n in (1, 2))

    wait_for(all_up, timeout=90, what="both web hosts and both worker hosts", on_timeout=hosts.logs)


def _tokens(hosts: Hosts) -> dict[str, Any]:
    env = {**hosts.env, "DATABASE_URL": hosts.databases.primary_url, "DATABASE_POOLER": ""}
    child = [sys.executable, "-c", "import django, sys; django.setup(); exec(sys.argv[1])", SETUP, str(DEVICES)]
    return json.loads(run(child, cwd=ROOT, env=env).stdout)


def in_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    results: list[Any] = [None] * len(jobs)

    def one(index: int) -> None:
        try:
            results[index] = jobs[index]()
        except BaseException as problem:  # shown by the assertion
            results[index] = repr(problem)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Token {token}"}, timeout=60)


def test_four_hosts_one_registration_per_enrolment_reports_on_the_replica_and_a_stopped_replica(hosts):
    # Each host knows its loopback and the bridge's network, and no way anywhere else.
    for namespace in hosts.network.hosts:
        routes = run(["ip", "-n", namespace, "route", "show"]).stdout.split()
        assert (routes[0], "default" in routes) == (f"{hosts.network.subnet}.0/24", False)
    tokens = _tokens(hosts)
    # The registry misbehaves from the start: seeded, so the same faults strike in every run.
    faults = {"error_5xx": 0.3, "timeout": 0.1, "rate_limit_429": 0.05, "drop_after_process": 0.1}
    assert httpx.put(f"{hosts.control_url}/faults", json={**faults, "timeout_seconds": 2, "seed": 14},
                     timeout=10).status_code == 200  # fmt: skip

    # --- the sync storm ---------------------------------------------------------------------
    def device(n: int) -> Callable[[], list[int]]:
        def sync() -> list[int]:
            statuses = []
            web = [client(base, tokens["devices"][n]) for base in hosts.web]
            pulled = web[n % 2].get("/api/v1/sync")
            assert pulled.status_code == 200, pulled.text
            since = pulled.json()["timestamp"]
            for p in range(PUSHES):
                workers = [flat_worker(id=f"mh-{n}-{p}-{i}") for i in range(PER_PUSH)]
                enrolments = [flat_enrolment(w["id"], status="submitted") for w in workers]
                body = changes({"created": workers}, {"created": enrolments})
                url = f"/api/v1/sync?last_pulled_at={since}"
                first, other = web[(n + p) % 2], web[(n + p + 1) % 2]
                if p % 2:  # its answer "lost": the same push again, at once, through the other host
                    sent = in_threads([functools.partial(c.post, url, json=body) for c in (first, other)])
                else:
                    sent = [first.post(url, json=body)]
                statuses += [r.status_code if isinstance(r, httpx.Response) else r for r in sent]
            for c in web:
                c.close()
            return statuses

        return sync

    storm = in_threads([device(n) for n in range(DEVICES)])
    expected_pushes = [200] * (PUSHES + PUSHES // 2)
    assert storm == [expected_pushes] * DEVICES, storm
    ids = sorted(f"e-mh-{n}-{p}-{i}" for n in range(DEVICES) for p in range(PUSHES) for i in range(PER_PUSH))
    assert hosts.primary("SELECT count(*), count(DISTINCT worker_id) FROM enrolment_enrolment"
                         " WHERE status = 'submitted'") == [(ENROLMENTS, ENROLMENTS)]  # fmt: skip
    assert hosts.primary("SELECT count(*) FROM workers_worker") == [(ENROLMENTS,)]

    # --- verified (the request resent through the other host), then the registry sync -------
    operators = [client(base, tokens["operator"]) for base in hosts.web]
    verified = operators[0].post("/api/v1/verification/verify", json={"ids": ids})
    assert verified.status_code == 200, verified.text
    assert verified.json()["summary"] == {"updated": ENROLMENTS, "unchanged": 0, "invalid": 0}
    again = operators[1].post("/api/v1/verification/verify", json={"ids": ids})
    assert again.status_code == 200, again.text
    # Unchanged, or already queued/active (the registry sync started at once): nothing moved twice.
    assert again.json()["summary"]["updated"] == 0

    def all_active() -> bool:
        return hosts.primary("SELECT count(*) FROM enrolment_enrolment WHERE status = 'active'") == [(ENROLMENTS,)]

    def diagnose() -> str:
        batches = hosts.primary("SELECT status, attempts, last_error_code FROM enrolment_registry_registrybatch")
        return f"batches: {batches}\n{hosts.logs()}"

    wait_for(all_active, timeout=120, what=f"{ENROLMENTS} active enrolments", on_timeout=diagnose)

    stats = httpx.get(f"{hosts.control_url}/stats", timeout=30).json()
    assert stats["refs_registered_more_than_once"] == []
    assert stats["registrations_per_ref"] == dict.fromkeys(ids, 1)
    assert sum(stats["faults"].get(kind, 0) for kind in faults) >= 2, stats["faults"]
    numbers = dict(hosts.primary("SELECT id, registry_number FROM enrolment_enrolment"))
    assert len(set(numbers.values())) == ENROLMENTS
    held = httpx.get(f"{hosts.control_url}/participants", timeout=30).json()["participants"]
    assert {row["ref"]: row["participant_number"] for row in held} == numbers
    # One audited move to active per enrolment: nothing was applied twice.
    moves = hosts.primary("SELECT count(*) FROM villages_auditevent WHERE object_type = 'enrolment'"
                          " AND changes -> 'status' = '[\"queued\", \"active\"]'::jsonb")  # fmt: skip
    assert moves == [(ENROLMENTS,)]
    # Both worker hosts took part in the sends.
    assert all("enrolment.registry." in hosts.log(f"work{n}") for n in (1, 2)), hosts.logs()

    # --- the report, read on the replica by either web host ---------------------------------
    viewers = [client(base, tokens["viewer"]) for base in hosts.web]
    report_query: dict[str, str | int] = {"area": VILLAGE, "year": YEAR}

    def replica_caught_up() -> bool:
        return hosts.replica("SELECT count(*) FROM enrolment_enrolment WHERE status = 'active'") == [(ENROLMENTS,)]

    wait_for(replica_caught_up, timeout=30, what="the replica to replay the registrations")
    # A device's first request (then one each DEVICE_SEEN_WRITE_INTERVAL) writes its last_seen_at:
    # that request's later reads stay on the primary, as after any write in a request.
    assert [v.get("/api/v1/me").status_code for v in viewers] == [200, 200]
    hosts.replica("SELECT pg_stat_statements_reset()")
    hosts.primary("SELECT pg_stat_statements_reset()")
    reports = [v.get("/api/v1/reports/coverage", params=report_query) for v in viewers]
    assert [r.status_code for r in reports] == [200, 200]
    totals = [r.json()["total"] for r in reports]
    assert [(t["registered_workers"], t["live_enrolments"], t["active_enrolments"], t["by_status"])
            for t in totals] == [(ENROLMENTS, ENROLMENTS, ENROLMENTS, {"active": ENROLMENTS})] * 2  # fmt: skip
    count_calls = "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE %s"
    assert hosts.replica(count_calls, COUNT_QUERY) == [(2,)]
    assert hosts.primary(count_calls, COUNT_QUERY) == [(0,)]

    # --- the replica stopped: everything still answers, from the primary --------------------
    hosts.databases.stop_replica()
    after = [v.get("/api/v1/reports/coverage", params=report_query) for v in viewers]
    assert [r.status_code for r in after] == [200, 200]
    assert [r.json()["total"] for r in after] == totals
    assert hosts.primary(count_calls, COUNT_QUERY) == [(2,)]
    listed = [o.get("/api/v1/enrolments", params={"page_size": 5}) for o in operators]
    assert [r.status_code for r in listed] == [200, 200]
    assert [len(r.json()["results"]) for r in listed] == [5, 5]
    late = client(hosts.web[1], tokens["devices"][0])
    pulled = late.get("/api/v1/sync")
    worker = flat_worker(id="mh-late")
    pushed = late.post(
        f"/api/v1/sync?last_pulled_at={pulled.json()['timestamp']}",
        json=changes({"created": [worker]}, {"created": [flat_enrolment(worker["id"], status="submitted")]}),
    )
    assert (pulled.status_code, pushed.status_code) == (200, 200)
    assert [httpx.get(f"{base}/readyz", timeout=10).status_code for base in hosts.web] == [200, 200]
    for c in [*operators, *viewers, late]:
        c.close()
