"""`python -m registry_stub` as its own process: readiness, port file, kill and restart, settings."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.registry_stub.helpers import API_KEY, AUTH, PARTNER_ID, batch, held, nik, numbers_of, record, submit

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class StubProcess:
    process: subprocess.Popen[str]
    ready_line: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def start_stub(tmp_path: Path) -> Iterator[Callable[..., StubProcess]]:
    """start_stub(*flags, env={...}) → a stub process over tmp_path's data, ready to serve."""
    started: list[subprocess.Popen[str]] = []
    port_file = tmp_path / "stub.port"

    def start(*flags: str, env: dict[str, str] | None = None) -> StubProcess:
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("REGISTRY_STUB_")}
        # A killed predecessor leaves its port file behind: it must not be mistaken for this run's.
        port_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", "registry_stub", "--port", "0", "--port-file", str(port_file)]
        command += ["--data-dir", str(tmp_path / "registry"), "--api-key", API_KEY, "--partner-id", PARTNER_ID]
        with (tmp_path / "stub.log").open("a") as log:
            process = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
                [*command, "--quiet", *flags],
                cwd=REPOSITORY,
                env=inherited | (env or {}),
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        started.append(process)
        # The port file appears just before the readiness line is printed.
        deadline = time.monotonic() + 20
        while not port_file.exists():
            assert process.poll() is None, (tmp_path / "stub.log").read_text()
            assert time.monotonic() < deadline, "the stub did not become ready"
            time.sleep(0.02)
        assert process.stdout is not None
        return StubProcess(process, process.stdout.readline(), int(port_file.read_text()))

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_the_process_keeps_what_it_answered_across_a_kill_and_restart(start_stub, tmp_path):
    # Given a stub that processes and then drops the answer, killed right after.
    first = start_stub("--drop-after-process", "1", "--seed", "3")
    assert re.fullmatch(
        rf"registry-stub ready url=http://127\.0\.0\.1:{first.port} port={first.port} "
        rf"data_dir=\S+ pid={first.process.pid}\n",
        first.ready_line,
    )
    body = batch("batch-1", [record(1), record(2)])
    with httpx.Client(base_url=first.url, headers=AUTH, timeout=10) as client, pytest.raises(httpx.RemoteProtocolError):
        submit(client, body)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)

    # When it is started again without faults and the client resends.
    second = start_stub()
    with (
        httpx.Client(base_url=second.url, headers=AUTH, timeout=10) as client,
        httpx.Client(base_url=f"{second.url}/_stub", timeout=10) as control,
    ):
        resent = submit(client, body)
        later = submit(client, batch("batch-2", [record(2), record(3, nik=nik(1))]))
        participants = held(control)
        stats = control.get("/stats").json()

    # Then the stored first answer comes back and nothing is registered twice.
    assert resent.status_code == 200
    assert [result["outcome"] for result in resent.json()["results"]] == ["accepted", "accepted"]
    assert numbers_of(resent) == [row["participant_number"] for row in participants]
    assert [(result["outcome"], result["reason_code"]) for result in later.json()["results"]] == [
        ("duplicate", "ref_already_registered"),
        ("duplicate", "nik_already_registered"),
    ]
    assert numbers_of(later) == [numbers_of(resent)[1], numbers_of(resent)[0]]
    assert stats["participations"] == 2
    assert stats["registrations_per_ref"] == {"enrolment-1": 1, "enrolment-2": 1}
    assert stats["batches"] == {"processed": 2, "replayed": 1, "conflicts": 0}
    assert stats["requests"] == {"POST /v1/batches": {"dropped": 1, "200": 2}}
    assert stats["faults"]["drop_after_process"] == 1


def test_sigterm_stops_the_process_cleanly(start_stub, tmp_path):
    stub = start_stub()

    stub.process.send_signal(signal.SIGTERM)

    assert stub.process.wait(timeout=10) == 0
    assert not (tmp_path / "stub.port").exists()


def test_flags_override_environment_variables(start_stub):
    stub = start_stub(
        "--retry-after-seconds",
        "4",
        env={
            "REGISTRY_STUB_RATE_LIMIT_429": "1",
            "REGISTRY_STUB_RETRY_AFTER_SECONDS": "9",
            "REGISTRY_STUB_REJECT_NIK_PREFIXES": "99,98",
        },
    )

    with httpx.Client(base_url=stub.url, headers=AUTH, timeout=10) as client:
        response = submit(client, batch("batch-1", [record(1)]))
        faults = client.get("/_stub/faults").json()

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "4"
    assert (faults["rate_limit_429"], faults["retry_after_seconds"], faults["reject_nik_prefixes"]) == (
        1.0,
        4,
        ["99", "98"],
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--error-5xx", "2"], "error_5xx must be a share between 0 and 1, got 2.0"),
        (["--latency-ms", "fast"], "latency_ms: 'fast' is not a number"),
        (["--error-5xx", "0.7", "--timeout", "0.7"], "must add up to at most 1"),
    ],
)
def test_unusable_flags_stop_the_process_with_a_message(tmp_path, flags, message):
    command = [sys.executable, "-m", "registry_stub", "--port", "0", "--data-dir", str(tmp_path / "registry"), *flags]

    finished = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=20, check=False)  # noqa: S603

    assert finished.returncode == 2
    assert message in finished.stderr
    assert not (tmp_path / "registry").exists()
