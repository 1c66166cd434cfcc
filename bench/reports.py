"""Benchmark: the coverage report on a large database, and a province-sized spreadsheet import.

Measured in one run on the same machine:
  report     GET /api/v1/reports/coverage?area=17&group_by=village (Bengkulu, 1,513 villages)
             through Django's test client (auth, SQL, roll-up, JSON), with `--workers` workers
             (1,000,000 by default) and one enrolment each in the database; median of --repeat.
             It reads the running counts (after one fold, as the beat task does).
  tables     baseline: the same request with the same GROUP BY over the tables themselves.
  naive      baseline: a first version's report: the ORM, three aggregate queries per village.
  import     an XLSX of --rows rows (80,418 by default: Bengkulu's call) through the import
             service (streamed read, chunks through workers_save / enrolments_save, a result per
             row), in a child process whose peak RSS is measured; then the same file again
             (every row unchanged).
  read-only  baseline: the child process reading the same file with openpyxl and nothing else,
             and with enrolment.imports.xlsx (the reader the import uses).
  idle       baseline: a child process that only starts Django (its RSS is the floor).
It writes EXPLAIN (ANALYZE, BUFFERS) of the report's queries, both ways, to bench/results/.

Targets (issue 6): report <= 300 ms with 1,000,000 workers; import <= 60 s and <= 500 MB peak.

Usage: .venv/bin/python bench/reports.py [--workers 1000000] [--rows 80418] [--repeat 7]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench_reports), which it
drops and recreates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_bench_reports")
RESULTS = ROOT / "bench" / "results"
ADMIN = "bench-admin"


def setup_django(media_root: str | None = None) -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ["REDIS_URL"] = ""  # imports run in-process, in the measured process
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghij")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    if media_root:
        os.environ["MEDIA_ROOT"] = media_root
    import django

    django.setup()
    from config.memory import tune_garbage_collector

    tune_garbage_collector()  # as the Celery worker that runs imports does once it has started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


# --- children (measured processes) -------------------------------------------------------------


def child_idle() -> dict:
    setup_django()
    return {"rss_mb": peak_rss_mb()}


def child_read(path: str) -> dict:
    setup_django()
    from openpyxl import load_workbook

    started = time.perf_counter()
    workbook = load_workbook(path, read_only=True, data_only=True)
    rows = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True)) - 1
    workbook.close()
    return {"seconds": time.perf_counter() - started, "rows": rows, "rss_mb": peak_rss_mb()}


def child_stream(path: str) -> dict:
    """The reader the import uses (enrolment.imports.xlsx), alone."""
    setup_django()
    from enrolment.imports.xlsx import open_workbook

    started = time.perf_counter()
    workbook = open_workbook(path)
    rows = sum(1 for _ in workbook.rows()) - 1
    workbook.close()
    return {"seconds": time.perf_counter() - started, "rows": rows, "rss_mb": peak_rss_mb()}


def child_import(path: str, media_root: str) -> dict:
    setup_django(media_root)
    from django.core.files import File

    from enrolment.imports.models import ImportJob
    from enrolment.imports.services import import_create
    from villages.audit import Actor
    from villages.models import User

    admin = User.objects.get(username=ADMIN)
    started = time.perf_counter()
    with open(path, "rb") as handle:
        job, _created = import_create(
            actor=Actor(user=admin), upload=File(handle, name="bengkulu.xlsx"), dry_run=False, language="id"
        )
    seconds = time.perf_counter() - started  # no REDIS_URL: the job ran in-process, on commit
    job = ImportJob.objects.get(pk=job.pk)
    problem = job.rows.filter(result="invalid").values_list("row_number", "error").first()
    return {
        "first_invalid": problem,
        "seconds": seconds,
        "status": job.status,
        "error": job.error,
        "counts": [job.created_count, job.updated_count, job.unchanged_count, job.invalid_count],
        "rss_mb": peak_rss_mb(),
    }


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True, timeout=1800
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the parent ------------------------------------------------------------------------------------


def letters(n: int) -> str:
    """A name part from a number (names may not carry digits): 0 → "Aaaa", 1 → "Aaab"..."""
    out = ""
    for _ in range(4):
        n, rest = divmod(n, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[rest] + out
    return out.capitalize()


def make_xlsx(path: Path, rows: int, serial_base: int = 5001) -> float:
    from openpyxl import Workbook

    from enrolment.imports.layout import HEADERS
    from villages.models import Area

    villages = list(
        Area.objects.filter(code__startswith="17.", level="village").order_by("code").values_list("code", flat=True)
    )
    started = time.perf_counter()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Peserta")
    sheet.append(list(HEADERS))
    index = {header: i for i, header in enumerate(HEADERS)}
    for n in range(rows):
        code = villages[n % len(villages)]
        born = dt.date(1960, 1, 1) + dt.timedelta(days=n % 15000)
        sex = "P" if n % 2 else "L"
        day = born.day + (40 if sex == "P" else 0)
        row = [None] * len(HEADERS)
        values = {
            # Serials from 5001: populate() uses 1-67 for its million, so no NIK collides.
            "NIK": f"{code[:8].replace('.', '')}{day:02d}{born.month:02d}{born.year % 100:02d}{serial_base + n // 15000:04d}",
            "Nama Lengkap": "Peserta " + letters(n),
            "Jenis Kelamin": sex,
            "Tempat Lahir": "Bengkulu",
            "Tanggal Lahir": born.strftime("%d-%m-%Y"),
            "No HP": f"0813{n:08d}",
            "Kode Desa": code,
            "Alamat": "Jl. Desa",
            "RT": "001",
            "RW": "002",
            "Pekerjaan": ["nelayan", "petani", "Buruh tani", "perangkat_desa"][n % 4],
            "Penghasilan per Bulan": f"{900 + (n % 7) * 100}.000",
            "Tanggal Persetujuan": "20-11-2026",
            "Cara Persetujuan": "tanda tangan",
            "Sumber Dana": "apbd_provinsi",
            "Tahun Anggaran": 2026,
            "Mulai Kepesertaan": "01-12-2026",
            "Program": "JKK, JKM",
            "Ajukan": "Ya",
        }
        for header, value in values.items():
            row[index[header]] = value
        sheet.append(row)
    workbook.save(path)
    return time.perf_counter() - started


def report_timings(client, repeat: int, source: str | None = None) -> tuple[float, dict]:
    """Median seconds of the report request; `source="tables"` swaps the SQL the view runs."""
    from unittest import mock

    from enrolment.reports import coverage

    times = []
    body = None
    real = coverage.coverage_report
    with mock.patch.object(coverage, "coverage_report", lambda **kw: real(**kw, source=source)):
        for attempt in range(repeat + 1):
            started = time.perf_counter()
            response = client.get("/api/v1/reports/coverage", {"area": "17", "year": 2026, "group_by": "village"})
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.content[:300]
            if attempt:  # the first one warms caches
                times.append(elapsed)
            body = response.json()
    body.pop("generated_at")
    return statistics.median(times), body


def naive_report(year: int) -> tuple[float, dict]:
    """What a first version would write: the ORM, village by village."""
    from django.db.models import Count, Q, Sum

    from enrolment.models import LIVE_STATUSES, Enrolment
    from villages.models import Area
    from workers.models import Worker

    started = time.perf_counter()
    out = {}
    for village in Area.objects.filter(code__startswith="17.", level="village").order_by("code"):
        occupations = dict(
            Worker.objects.filter(village=village, deleted_at__isnull=True)
            .values_list("occupation")
            .annotate(n=Count("id"))
        )
        live = Q(status__in=LIVE_STATUSES)
        enrolments = Enrolment.objects.filter(
            village=village, budget_year=year, deleted_at__isnull=True, needs_correction=False
        )
        money = enrolments.aggregate(
            live=Count("id", filter=live),
            active=Count("id", filter=Q(status="active")),
            monthly=Sum("monthly_contribution", filter=live),
            annual=Sum("annual_contribution", filter=live),
        )
        funding = dict(enrolments.filter(live).values_list("funding_source").annotate(n=Count("id")))
        out[village.code] = (sum(occupations.values()), money, funding)
    return time.perf_counter() - started, out


def explain(sql: str, params: dict) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=80_418)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = {"idle": child_idle, "read": child_read, "stream": child_stream, "import": child_import}[kind](*rest)
        print(json.dumps(result))
        return

    from bench.load_areas import recreate_database

    recreate_database(BENCH_URL)
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from bench.populate import populate
    from enrolment.reports.coverage import COUNT_SQL, PREFIX_LENGTH
    from villages.models import Role, User

    call_command("migrate", verbosity=0)
    call_command("load_areas", province="17", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115 - Bengkulu's regency targets
    admin = User.objects.create_user(ADMIN, password="bench-Admin-2026", role=Role.ADMIN, is_staff=True)
    RESULTS.mkdir(exist_ok=True)

    started = time.perf_counter()
    populate(workers=args.workers)
    with connection.cursor() as cursor:  # what autovacuum does after a bulk load: visibility map, statistics
        cursor.execute("VACUUM ANALYZE workers_worker")
        cursor.execute("VACUUM ANALYZE enrolment_enrolment")
    print(f"populated {args.workers:,} workers + enrolments in {time.perf_counter() - started:.1f} s")

    from enrolment.reports.services import coverage_compact

    started = time.perf_counter()
    folded = coverage_compact()  # what the beat task does every COVERAGE_COMPACT_SECONDS
    compact_s = time.perf_counter() - started
    client = APIClient()
    client.force_authenticate(admin)
    report_s, body = report_timings(client, args.repeat)
    params = {"prefix": PREFIX_LENGTH[4], "area": "17", "below": "17.%", "year": 2026}
    counts_sql, counts_workers_sql = COUNT_SQL["counts"]
    tables_sql, tables_workers_sql = COUNT_SQL["tables"]
    (RESULTS / "report_explain.txt").write_text(
        "-- counts: enrolments\n" + explain(counts_sql, params) + "\n\n-- counts: workers\n"
        + explain(counts_workers_sql, params) + "\n\n-- tables: enrolments\n" + explain(tables_sql, params)
        + "\n\n-- tables: workers\n" + explain(tables_workers_sql, params) + "\n"
    )  # fmt: skip
    tables_s, body_tables = report_timings(client, args.repeat, source="tables")
    naive_s, naive = naive_report(2026)
    total = body["total"]
    assert body_tables["total"] == total
    assert body_tables["results"] == body["results"]
    assert sum(v[0] for v in naive.values()) == total["registered_workers"]
    assert sum(v[1]["annual"] or 0 for v in naive.values()) == total["annual_contribution_idr"]

    print()
    print(f"report: Bengkulu by village ({len(body['results'])} rows), {total['registered_workers']:,} workers, "
          f"{total['live_enrolments']:,} live enrolments, median of {args.repeat}")  # fmt: skip
    rows = ", ".join(f"{table}: {after:,} rows" for table, (_, after) in folded.items())
    print(f"running counts after folding ({compact_s:.1f} s): {rows}")
    print("| path | ms | x report |\n|---|---|---|")
    print(f"| GET /api/v1/reports/coverage (GROUP BY prefix over the running counts) | {report_s * 1000:.0f} | 1.0 |")
    print(
        f"| baseline: same report, GROUP BY prefix over the tables | {tables_s * 1000:.0f} | {tables_s / report_s:.1f} |"
    )
    print(f"| baseline: naive ORM, 3 queries per village | {naive_s * 1000:.0f} | {naive_s / report_s:.1f} |")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bengkulu.xlsx"
        write_s = make_xlsx(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        idle = run_child("idle")
        read = run_child("read", str(path))
        stream = run_child("stream", str(path))
        first = run_child("import", str(path), str(Path(tmp) / "media"))
        again = run_child("import", str(path), str(Path(tmp) / "media"))
    assert read["rows"] == stream["rows"] == args.rows
    assert first["counts"] == [args.rows, 0, 0, 0], first
    assert again["counts"] == [0, 0, args.rows, 0], again
    print()
    print(f"import: {args.rows:,}-row XLSX ({size_mb:.1f} MB, written in {write_s:.1f} s), into the same database")
    print("| step | seconds | rows/s | peak RSS MB |\n|---|---|---|---|")
    print(f"| baseline: process start (Django loaded) | | | {idle['rss_mb']:.0f} |")
    print(f"| baseline: read the file alone (openpyxl read-only) | {read['seconds']:.1f} | {args.rows / read['seconds']:,.0f} | {read['rss_mb']:.0f} |")  # fmt: skip
    print(f"| baseline: read the file alone (enrolment.imports.xlsx, as the import does) | {stream['seconds']:.1f} | {args.rows / stream['seconds']:,.0f} | {stream['rss_mb']:.0f} |")  # fmt: skip
    print(f"| import, first time (all created: workers + submitted enrolments) | {first['seconds']:.1f} | {args.rows / first['seconds']:,.0f} | {first['rss_mb']:.0f} |")  # fmt: skip
    print(f"| import, same file again (all unchanged) | {again['seconds']:.1f} | {args.rows / again['seconds']:,.0f} | {again['rss_mb']:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
