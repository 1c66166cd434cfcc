"""Fills a PostgreSQL database with many workers and enrolments, fast (COPY), for benchmarks.

Workers are spread over Bengkulu's 1,513 villages (or put in one village with --village), each
with a structurally valid, unique NIK and one enrolment whose status, funding and programs
follow a fixed mix. Rows go in through COPY, so database triggers and defaults apply but the
services' per-record work does not: this makes volume, not realistic edits.

    from bench.populate import populate
    populate(workers=1_000_000)                       # spread over Bengkulu
    populate(workers=3_000, village="17.04.01.2001", id_prefix="v")   # one village

Command line (on the database in DATABASE_URL, which must be migrated with areas loaded):
    .venv/bin/python bench/populate.py --workers 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OCCUPATIONS = ["nelayan", "petani", "buruh_tani", "pedagang_pasar", "perangkat_desa", "ojek", "pemanen_sawit", "rt_rw"]
FUNDING = ["apbd_kabupaten", "apbd_provinsi", "apbdes", "mandiri", "dbh_sawit"]
# Status mix of enrolments: mostly active, the rest along the way.
STATUSES = ["active"] * 6 + ["verified", "submitted", "draft", "rejected"]

WORKER_COLUMNS = [
    "id", "village_id", "nik", "kk_number", "full_name", "birth_date", "birth_place", "sex", "phone",
    "address_street", "address_dusun", "address_rt", "address_rw", "occupation_id", "kusuka_number",
    "monthly_income", "mother_maiden_name", "heirs", "consent_given_at", "consent_method", "consent_recorded_by",
    "warnings", "needs_correction", "errors", "version", "request_hash", "created_at", "updated_at",
    "nik_bi", "kk_bi", "phone_bi",
]  # fmt: skip
ENROLMENT_COLUMNS = [
    "id", "worker_id", "village_id", "segment", "programs", "funding_source_id", "budget_year", "funding_decree",
    "coverage_start", "payment_period_months", "monthly_contribution", "annual_contribution", "contribution_detail",
    "status", "status_reason", "status_changed_at", "registry_number", "warnings", "needs_correction", "errors",
    "version", "request_hash", "created_at", "updated_at",
]  # fmt: skip


def villages(village: str | None, exclude: str | None = None) -> list[str]:
    from villages.models import Area

    if village:
        return [village]
    return list(
        Area.objects.filter(code__startswith="17.", level="village")
        .exclude(code=exclude or "")
        .order_by("code")
        .values_list("code", flat=True)
    )


def populate(
    *,
    workers: int,
    village: str | None = None,
    id_prefix: str = "p",
    enrolment_share: float = 1.0,
    start: int = 0,
    exclude_village: str | None = None,
    codes: list[str] | None = None,
) -> tuple[int, int]:
    """COPYs `workers` workers (ids `{prefix}{n}`) and enrolments for `enrolment_share` of them.

    `start` offsets the index so several calls give distinct ids and NIKs. `codes` replaces
    Bengkulu's villages (e.g. the whole country's, bench/national.py). Returns the counts.
    """
    from django.db import connection

    from config.pii import blind_index, encrypt

    codes = codes or villages(village, exclude_village)
    no_heirs = encrypt("[]")
    now = dt.datetime.now(dt.UTC)
    consent = dt.datetime(2026, 10, 1, 2, tzinfo=dt.UTC)
    enrol_every = max(1, round(1 / enrolment_share)) if enrolment_share > 0 else 0
    made_enrolments = 0
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor() as c, c.copy(f"COPY workers_worker ({', '.join(WORKER_COLUMNS)}) FROM STDIN") as copy:
            for n in range(start, start + workers):
                code = codes[n % len(codes)]
                district = code[:8].replace(".", "")
                born = dt.date(1960, 1, 1) + dt.timedelta(days=n % 15000)
                sex = "F" if n % 2 else "M"
                day = born.day + (40 if sex == "F" else 0)
                nik = f"{district}{day:02d}{born.month:02d}{born.year % 100:02d}{n // 15000 + 1:04d}"
                phone = f"+62812{n:08d}"
                # Personal data as the service stores it: tokens and blind indexes (config/pii.py).
                copy.write_row(
                    (
                        f"{id_prefix}{n}", code, encrypt(nik), "", f"Warga {n}", born, "Bengkulu", sex, encrypt(phone),
                        "Jl. Desa", "Dusun I", "001", "001", OCCUPATIONS[n % len(OCCUPATIONS)], "",
                        900_000 + (n % 7) * 100_000, "", no_heirs, consent, "signature", "petugas",
                        "[]", False, "{}", 1, "", now, now,
                        blind_index(nik, purpose="nik"), "", blind_index(phone, purpose="phone"),
                    )
                )  # fmt: skip
        if enrol_every:
            with (
                raw.cursor() as c,
                c.copy(f"COPY enrolment_enrolment ({', '.join(ENROLMENT_COLUMNS)}) FROM STDIN") as copy,
            ):
                for n in range(start, start + workers, enrol_every):
                    code = codes[n % len(codes)]
                    status = STATUSES[n % len(STATUSES)]
                    funding = FUNDING[n % len(FUNDING)]
                    monthly = 8_400 if funding == "mandiri" else 16_800
                    copy.write_row(
                        (
                            f"{id_prefix}e{n}", f"{id_prefix}{n}", code, "BPU", json.dumps(["JKK", "JKM"]), funding, 2026, "",
                            dt.date(2026, 1, 1), 1, monthly, monthly * 12, "{}", status,
                            "data tidak lengkap" if status == "rejected" else "", now,
                            f"9{n:010d}" if status == "active" else "", "[]", False, "{}", 1, "", now, now,
                        )
                    )  # fmt: skip
                    made_enrolments += 1
    return workers, made_enrolments


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--village", help="Put every worker in this village code.")
    parser.add_argument("--prefix", default="p")
    parser.add_argument("--start", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    started = time.perf_counter()
    counts = populate(workers=args.workers, village=args.village, id_prefix=args.prefix, start=args.start)
    print(f"{counts[0]:,} workers and {counts[1]:,} enrolments in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
