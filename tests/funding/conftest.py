"""Fixtures of the budget-year tests: officials of Kaur and a decree of its regency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from enrolment.models import FundingAllocation
from tests.conftest import GEDUNG_WANI, KAUR
from villages.models import Role, User


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.SUPERVISOR, areas=(KAUR,), username="supervisor-kaur")


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,), username="operator-wani")


@pytest.fixture
def officer(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,), username="officer-wani")


def make_allocation(**overrides: Any) -> FundingAllocation:
    values: dict[str, Any] = {
        "id": "sk-kaur-2026",
        "funding_source_id": "apbd_kabupaten",
        "area_id": KAUR,
        "budget_year": 2026,
        "decree_number": "SK 100/2026",
        "decree_date": dt.date(2025, 12, 15),
        "period_start": dt.date(2026, 1, 1),
        "period_end": dt.date(2026, 12, 1),
        "quota_workers": 10,
        "amount_idr": 10 * 16_800 * 12,
    }
    values.update(overrides)
    return FundingAllocation.objects.create(**values)


WORKER_COLUMNS = (
    "id", "village_id", "nik", "kk_number", "full_name", "birth_date", "birth_place", "sex", "phone",
    "address_street", "address_dusun", "address_rt", "address_rw", "kusuka_number", "occupation_id",
    "monthly_income", "mother_maiden_name", "heirs", "consent_given_at", "consent_method", "consent_recorded_by",
    "warnings", "needs_correction", "errors", "version", "request_hash", "created_at", "updated_at",
)  # fmt: skip
ENROLMENT_COLUMNS = (
    "id", "worker_id", "village_id", "segment", "programs", "funding_source_id", "budget_year", "funding_decree",
    "coverage_start", "payment_period_months", "monthly_contribution", "annual_contribution", "contribution_detail",
    "status", "status_reason", "registry_number", "registry_status", "warnings", "needs_correction", "errors",
    "version", "request_hash", "created_at", "updated_at",
)  # fmt: skip


def copy_participants(count: int, *, village: str = GEDUNG_WANI, year: int = 2025, prefix: str = "r") -> None:
    """COPYs `count` people of `village`, each with an active enrolment of `year` (APBD
    kabupaten, one participant number each), inside the test's transaction. Ids are
    zero-padded (`r00000`…), so the renewal order (same coverage start and creation time) is
    the ids' order. Born 1980-1999: nobody is near the age limit."""
    from django.db import connection

    now = dt.datetime(2025, 1, 5, tzinfo=dt.UTC)
    consent = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor() as c, c.copy(f"COPY workers_worker ({', '.join(WORKER_COLUMNS)}) FROM STDIN") as copy:
            for n in range(count):
                born = dt.date(1980, 1, 1) + dt.timedelta(days=n % 7000)
                nik = f"170401{born.day:02d}{born.month:02d}{born.year % 100:02d}{n // 7000 + 1:04d}"
                copy.write_row((
                    f"{prefix}w{n:05d}", village, nik, "", f"Warga {n}", born, "Kaur", "M", "+6281200000000", "", "",
                    "", "", "", "nelayan", 1_000_000, "", "[]", consent, "signature", "petugas", "[]", False, "{}", 1,
                    "", now, now,
                ))  # fmt: skip
        with raw.cursor() as c, c.copy(f"COPY enrolment_enrolment ({', '.join(ENROLMENT_COLUMNS)}) FROM STDIN") as copy:
            for n in range(count):
                copy.write_row((
                    f"{prefix}{n:05d}", f"{prefix}w{n:05d}", village, "BPU", '["JKK", "JKM"]', "apbd_kabupaten", year,
                    "SK 2025", dt.date(year, 1, 1), 1, 16_800, 16_800 * 12, "{}", "active", "",
                    f"9{n:010d}", "active", "[]", False, "{}", 1, "", now, now,
                ))  # fmt: skip
        cursor.execute("ANALYZE workers_worker, enrolment_enrolment")


# The registry stub over real HTTP and the settings pointing at it (tests/registry's fixtures).
from tests.registry.conftest import control, registry, stub  # noqa: E402, F401


def register_at_stub(registry_stub: Any, n: int) -> str:
    """Registers a participant at the stub (its own NIK and ref) and returns the number."""
    import httpx

    from tests.registry_stub.helpers import AUTH, batch, numbers_of, record, submit

    with httpx.Client(base_url=registry_stub.url, headers=AUTH, timeout=10) as client:
        return numbers_of(submit(client, batch(f"setup-{n}", [record(n)])))[0]


TODAY = dt.date(2026, 12, 2)


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """Asia/Jakarta's date is 2026-12-02 for the code under test (lapse, expiry, reactivation)."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)
    return TODAY
