"""Benchmark: a renewal of 80,418 participants (Bengkulu's call) against a 1,000,000-worker database.

Measured in one run on the same machine:
  dry run    POST-equivalent renewal job with dry_run (plan: candidates, reasons, prices, rows)
             run by the service the task calls (enrolment.funding.renewals.run.renewal_job_run).
  real run   the same renewal without dry_run: plan, then the new enrolments in chunks
             (RENEWAL_CHUNK_SIZE), each with its audit events and progress.
  again      the same real run asked again (creates nothing).
  baseline   a plain INSERT … SELECT of the same 80,418 new rows into enrolment_enrolment (same
             triggers), in a transaction rolled back: the floor for writing those rows at all.

Data: --workers workers in all (1,000,000 by default) through bench/populate.py; 80,418 of them
(--renew) hold an active 2025 enrolment paid by the province (APBD provinsi), the rest the
populate mix for 2026. The 2026 decree funds exactly 80,418 people, Rp 16,212,268,800.

Target (issue 15): dry run and real run each <= 60 s.

Usage: .venv/bin/python bench/renewal.py [--workers 1000000] [--renew 80418] [--keep]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench_renewal), which it
drops and recreates (unless --keep reuses a database this script filled before).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_bench_renewal")
DECREE = "bench-sk-2026"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ["REDIS_URL"] = ""
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghij")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def fill(workers: int, renew: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from bench.populate import populate

    call_command("migrate", verbosity=0)
    call_command("load_areas", province="17", stdout=open(os.devnull, "w"))  # noqa: SIM115
    started = time.perf_counter()
    populate(workers=workers - renew)
    populate(workers=renew, id_prefix="rn", start=workers - renew)
    with connection.cursor() as cursor:
        # Last year's participants: active 2025 enrolments paid by the province, one KPJ each.
        cursor.execute(
            "UPDATE enrolment_enrolment SET budget_year = 2025, coverage_start = '2025-01-01', status = 'active',"
            " status_reason = '', funding_source_id = 'apbd_provinsi', monthly_contribution = 16800,"
            " annual_contribution = 201600, registry_number = '8' || lpad(substr(id, 4), 10, '0')"
            " WHERE id LIKE 'rne%%'"
        )
        cursor.execute("VACUUM ANALYZE workers_worker")
        cursor.execute("VACUUM ANALYZE enrolment_enrolment")
    print(f"populated {workers:,} workers ({renew:,} to renew) in {time.perf_counter() - started:.1f} s")


def reset(renew: int) -> None:
    """Back to before any renewal (for --keep): no 2026 renewals, no jobs, the decree empty."""
    from django.db import connection

    from enrolment.funding.models import RenewalJob
    from enrolment.models import FundingAllocation

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM enrolment_enrolment WHERE renewal_of_id IS NOT NULL")
    RenewalJob.objects.all().delete()
    FundingAllocation.objects.filter(id=DECREE).delete()
    FundingAllocation.objects.create(
        id=DECREE, funding_source_id="apbd_provinsi", area_id="17", budget_year=2026,
        decree_number="SK Gubernur 2026", decree_date=dt.date(2025, 12, 20), period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 1), quota_workers=renew, amount_idr=renew * 16_800 * 12,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE enrolment_enrolment")


def baseline() -> float:
    """INSERT … SELECT of the same new rows, rolled back."""
    from django.db import connection, transaction

    from enrolment.funding.renewals.run import INSERT_RENEWALS  # noqa: F401 - the statement the real run uses

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO enrolment_enrolment (id, worker_id, village_id, segment, programs, funding_source_id,"
            " budget_year, funding_decree, coverage_start, payment_period_months, monthly_contribution,"
            " annual_contribution, contribution_detail, status, status_reason, registry_number, registry_status,"
            " allocation_id, renewal_of_id, renews, warnings, needs_correction, errors, version, request_hash,"
            " created_at, updated_at)"
            " SELECT 'x' || id, worker_id, village_id, segment, programs, funding_source_id, 2026, 'SK', '2026-01-01',"
            " payment_period_months, monthly_contribution, annual_contribution, contribution_detail, 'verified', '',"
            " '', '', %s, id, registry_number, '[]', false, '{}', 1, '', now(), now()"
            " FROM enrolment_enrolment WHERE budget_year = 2025 AND status = 'active'",
            [DECREE],
        )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def run(dry_run: bool) -> tuple[float, dict]:
    from enrolment.funding.models import RenewalJob
    from enrolment.funding.renewals.run import renewal_job_run
    from enrolment.funding.serializers import renewal_representation
    from enrolment.models import FundingAllocation
    from villages.models import Role, User

    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"role": Role.ADMIN, "is_staff": True})
    job = RenewalJob.objects.create(
        area_id="17", from_budget_year=2025, to_allocation=FundingAllocation.objects.get(id=DECREE),
        dry_run=dry_run, created_by=admin,
    )  # fmt: skip
    started = time.perf_counter()
    done = renewal_job_run(job_id=job.id)
    elapsed = time.perf_counter() - started
    assert done is not None
    return elapsed, renewal_representation(done)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--renew", type=int, default=80_418)
    parser.add_argument("--keep", action="store_true", help="reuse the database filled by an earlier run")
    args = parser.parse_args()
    if not args.keep:
        from bench.load_areas import recreate_database

        recreate_database(BENCH_URL)
    setup_django()
    if not args.keep:
        fill(args.workers, args.renew)
    reset(args.renew)
    load = os.getloadavg()
    base_s = baseline()
    dry_s, dry = run(dry_run=True)
    real_s, real = run(dry_run=False)
    again_s, again = run(dry_run=False)
    from enrolment.models import FundingAllocation

    decree = FundingAllocation.objects.get(id=DECREE)
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"baseline INSERT ... SELECT of {args.renew:,} rows: {base_s:.1f} s")
    print(
        f"dry run:  {dry_s:.1f} s  carried {dry['carried_over']:,} left out {dry['left_out']:,} cost Rp {dry['cost_idr']:,}"
    )
    print(f"real run: {real_s:.1f} s  created {real['created']:,} (status {real['status']})")
    print(f"again:    {again_s:.1f} s  created {again['created']:,} (status {again['status']})")
    print(f"decree: {decree.committed_workers:,} people, Rp {decree.committed_idr:,} of Rp {decree.amount_idr:,}")


if __name__ == "__main__":
    main()
