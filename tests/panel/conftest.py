"""Fixtures for the panel tests: fast bulk rows (COPY, like bench/populate.py) and officials."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.db import connection

from config.pii import blind_index, encrypt
from tests.conftest import GEDUNG_WANI, KAUR
from villages.models import Role, User

WORKER_COLUMNS = (
    "id", "village_id", "nik", "kk_number", "full_name", "birth_date", "birth_place", "sex", "phone",
    "address_street", "address_dusun", "address_rt", "address_rw", "kusuka_number", "occupation_id",
    "monthly_income", "mother_maiden_name", "heirs", "consent_given_at", "consent_method", "consent_recorded_by",
    "warnings", "needs_correction", "errors", "version", "request_hash", "created_at", "updated_at",
    "nik_bi", "kk_bi", "phone_bi",
)  # fmt: skip
ENROLMENT_COLUMNS = (
    "id", "worker_id", "village_id", "segment", "programs", "funding_source_id", "budget_year", "funding_decree",
    "coverage_start", "payment_period_months", "monthly_contribution", "annual_contribution", "contribution_detail",
    "status", "status_reason", "registry_number", "warnings", "needs_correction", "errors", "version",
    "request_hash", "created_at", "updated_at",
)  # fmt: skip


def copy_people(people: Iterable[dict[str, Any]]) -> int:
    """COPYs workers, each with one enrolment, inside the test's transaction. Each item:
    {id, village, occupation, status, funding, monthly, annual, year, deleted, needs_correction}."""
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    consent = dt.datetime(2026, 10, 1, 2, tzinfo=dt.UTC)
    people = list(people)
    phone, phone_bi = encrypt("+6281200000000"), blind_index("+6281200000000", purpose="phone")
    heirs = encrypt("[]")
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor() as c, c.copy(f"COPY workers_worker ({', '.join(WORKER_COLUMNS)}) FROM STDIN") as copy:
            for n, p in enumerate(people):
                born = dt.date(1960, 1, 1) + dt.timedelta(days=n % 15000)
                nik = f"{p['village'][:8].replace('.', '')}{born.day:02d}{born.month:02d}{born.year % 100:02d}{n // 15000 + 1:04d}"
                # Personal data as the service stores it: tokens and blind indexes (config/pii.py).
                copy.write_row((
                    p["id"], p["village"], encrypt(nik), "", f"Warga {n}", born, "Bengkulu", "M", phone, "", "",
                    "", "", "", p.get("occupation", "nelayan"), 1_000_000, "", heirs, consent, "signature", "petugas",
                    "[]", False, "{}", 1, "", now, now, blind_index(nik, purpose="nik"), "", phone_bi,
                ))  # fmt: skip
        with (
            raw.cursor() as c,
            c.copy(f"COPY enrolment_enrolment ({', '.join(ENROLMENT_COLUMNS)}) FROM STDIN") as copy,
        ):
            for p in people:
                if p.get("status") is None:
                    continue
                status = p["status"]
                copy.write_row((
                    f"{p['id']}-e", p["id"], p["village"], "BPU", json.dumps(["JKK", "JKM"]),
                    p.get("funding", "apbd_provinsi"), p.get("year", 2026), "", dt.date(2026, 1, 1), 1,
                    p.get("monthly", 16_800), p.get("annual", 16_800 * 12), "{}", status,
                    "data tidak lengkap" if status in ("rejected", "ended") else "",
                    f"9{abs(hash(p['id'])) % 10**10:010d}" if status == "active" else "", "[]",
                    p.get("needs_correction", False), "{}", 1, "", now, now,
                ))  # fmt: skip
        # The foreign keys are checked at the end of the test (deferred), one query per row. If
        # autovacuum last saw these tables empty (after a transactional test's flush), those
        # queries are planned as sequential scans and 80,000 rows take an hour to check instead
        # of seconds; ANALYZE inside the transaction counts its own rows.
        cursor.execute("ANALYZE workers_worker, enrolment_enrolment")
    return len(people)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,), username="operator-wani")


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.SUPERVISOR, areas=(KAUR,), username="supervisor-kaur")
