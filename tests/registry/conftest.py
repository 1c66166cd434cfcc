"""Fixtures of the registry sync tests: the stub over real HTTP, settings pointing at it, and many
verified enrolments made fast."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from config.celery import app as celery_app
from enrolment.models import Enrolment, Status
from registry_stub.server import RunningStub, start_in_thread
from tests.conftest import GEDUNG_WANI
from workers.models import Worker

REGISTRY_KEY = "test-registry-key"
REGISTRY_PARTNER = "desa-test"
# The registry client's timings for a worker process under faults: short everything, so that a run
# with many failures takes seconds (tests/registry/test_e2e.py, tests/test_multihost.py).
FAST_REGISTRY_ENV = {
    "REGISTRY_CONNECT_TIMEOUT": "1",
    "REGISTRY_READ_TIMEOUT": "1",
    "REGISTRY_RETRY_BASE_SECONDS": "0.2",
    "REGISTRY_RETRY_MAX_SECONDS": "1",
    "REGISTRY_MAX_RETRIES": "60",
    "REGISTRY_POLL_SECONDS": "0.2",
    "REGISTRY_LEASE_SECONDS": "4",
    "REGISTRY_SYNC_INTERVAL_SECONDS": "1",
}

_people = itertools.count(1)


@pytest.fixture(autouse=True)
def _tasks_in_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tasks run in-process (eager), as in the embedded mode; the e2e tests use a real worker."""
    if request.node.get_closest_marker("e2e") is not None:
        yield
        return
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[RunningStub]:
    with start_in_thread(data_dir=tmp_path / "registry", api_key=REGISTRY_KEY, partner_id=REGISTRY_PARTNER) as running:
        yield running


@pytest.fixture
def registry(settings: Any, stub: RunningStub) -> RunningStub:
    """The service pointed at the stub, with delays short enough for tests."""
    settings.REGISTRY_URL = stub.url
    settings.REGISTRY_API_KEY = REGISTRY_KEY
    settings.REGISTRY_PARTNER_ID = REGISTRY_PARTNER
    settings.REGISTRY_CONNECT_TIMEOUT = 2.0
    settings.REGISTRY_READ_TIMEOUT = 2.0
    settings.REGISTRY_RETRY_BASE_SECONDS = 2.0
    settings.REGISTRY_RETRY_MAX_SECONDS = 8.0
    settings.REGISTRY_POLL_SECONDS = 5.0
    settings.REGISTRY_LEASE_SECONDS = 30.0
    settings.REGISTRY_MAX_RETRIES = 3
    return stub


@pytest.fixture
def control(stub: RunningStub) -> Iterator[httpx.Client]:
    """The stub's control API (/_stub)."""
    with httpx.Client(base_url=f"{stub.url}/_stub", timeout=10) as client:
        yield client


def stub_faults(control: httpx.Client, **faults: Any) -> None:
    """Replaces the stub's fault settings (unnamed ones back to their defaults)."""
    response = control.put("/faults", json=faults)
    assert response.status_code == 200, response.text


def _name(n: int) -> str:
    """A name without digits (names may not hold any), distinct per n."""
    letters = ""
    while True:
        n, rest = divmod(n, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[rest] + letters
        if not n:
            return f"Warga {letters.capitalize()}"


def make_verified(count: int, *, village: str = GEDUNG_WANI, **worker_fields: Any) -> list[Enrolment]:
    """`count` workers with one verified enrolment each, in two bulk INSERTs (unique NIKs)."""
    workers, enrolments = [], []
    for _ in range(count):
        n = next(_people)
        born = dt.date(1960, 1, 1) + dt.timedelta(days=n // 9000)
        fields = {
            "id": f"rw{n}",
            "village_id": village,
            "nik": f"170401{born.day:02d}{born.month:02d}{born.year % 100:02d}{n % 9000 + 1:04d}",
            "full_name": _name(n),
            "birth_date": born,
            "sex": "M",
            "phone": "+6281234567890",
            "occupation_id": "nelayan",
            "monthly_income": 1_000_000,
            "consent_given_at": dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC),
            "consent_method": "signature",
            **worker_fields,
        }
        workers.append(Worker(**fields))
        enrolments.append(
            Enrolment(
                id=f"re{n}",
                worker_id=fields["id"],
                village_id=village,
                programs=["JKK", "JKM"],
                funding_source_id="apbd_kabupaten",
                budget_year=2026,
                coverage_start=dt.date(2026, 12, 1),
                monthly_contribution=16_800,
                annual_contribution=16_800 * 12,
                status=Status.VERIFIED,
            )
        )
    Worker.objects.bulk_create(workers)
    return Enrolment.objects.bulk_create(enrolments)
