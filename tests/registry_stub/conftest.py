"""A stub per test on a free port over its own data directory; no database needed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from registry_stub.server import RunningStub, start_in_thread
from tests.registry_stub.helpers import API_KEY, AUTH, PARTNER_ID


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[RunningStub]:
    with start_in_thread(data_dir=tmp_path / "registry", api_key=API_KEY, partner_id=PARTNER_ID) as running:
        yield running


@pytest.fixture
def registry(stub: RunningStub) -> Iterator[httpx.Client]:
    """A client speaking the registry protocol with the right credentials."""
    with httpx.Client(base_url=stub.url, headers=AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def control(stub: RunningStub) -> Iterator[httpx.Client]:
    """A client of the stub's control API (/_stub)."""
    with httpx.Client(base_url=f"{stub.url}/_stub", timeout=10) as client:
        yield client
