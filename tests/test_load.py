"""Concurrent bulk writes, imports and sync pushes on a PostgreSQL with default lock settings.

Eight 1,000-record bulks with four imports running used to fill PostgreSQL's shared lock table
(one advisory lock per id and per NIK: ~12,000 held at once) and fail with `out of shared memory`
as a 500. Locks are bucketed now (config/locks.py): whatever the load, a transaction holds at
most `LOCK_BUCKETS` advisory locks per namespace. This runs the whole mix at once and checks that
every record is stored, no request got a 5xx, and the advisory locks seen in pg_locks (sampled
on a thread of its own while the load runs) stay within the bound.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from enrolment.imports.models import ImportJob, ImportStatus
from enrolment.imports.services import import_job_run
from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, committed
from tests.factories import make_nik, token_for
from tests.sync.helpers import flat_enrolment, flat_worker
from villages.models import Role
from workers.models import Worker

pytestmark = committed

BULKS, BULK_SIZE = 8, 1000
IMPORTS, IMPORT_ROWS = 4, 2000
PUSHES, PUSH_WORKERS = 10, 40
# Namespaces one transaction can hold at once: worker, nik, enrolment, enrolled-worker.
NAMESPACES = 4


def person(index: int) -> tuple[str, dt.date]:
    """A distinct valid NIK and its birth date for each index (ages 15 to 65 in 2026)."""
    born = dt.date(1965, 1, 1) + dt.timedelta(days=index % 12000)
    return make_nik(born=born, serial=index // 12000 + 1), born


def bulk_record(index: int) -> dict[str, Any]:
    nik, born = person(index)
    return {
        "id": f"load-bulk-{index}",
        "nik": nik,
        "full_name": "Warga Uji Beban",
        "birth_date": born.isoformat(),
        "birth_place": "Kaur",
        "sex": "M",
        "phone": "",
        "village": GEDUNG_WANI,
        "address": {"street": "Jl. Pantai Linau", "dusun": "Dusun II", "rt": "003", "rw": "001"},
        "occupation": "nelayan",
        "heirs": [],
        "consent": {"given_at": "2026-11-20T09:00:00+07:00", "method": "signature", "recorded_by": "petugas"},
    }


IMPORT_COLUMNS = ["NIK", "Nama Lengkap", "Jenis Kelamin", "Tanggal Lahir", "Kode Desa", "Pekerjaan", "No HP",
                  "Sumber Dana", "Mulai Kepesertaan", "Tanggal Persetujuan", "Cara Persetujuan", "Ajukan"]  # fmt: skip


def import_file(first: int, count: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(IMPORT_COLUMNS)
    for index in range(first, first + count):
        nik, born = person(index)
        writer.writerow([nik, "Warga Impor", "L", born.isoformat(), GEDUNG_WANI, "petani", "",
                         "APBD Kabupaten/Kota", "01-12-2026", "20-11-2026", "tanda tangan", "Ya"])  # fmt: skip
    return buffer.getvalue().encode("utf-8")


class LockSampler(threading.Thread):
    """Counts this database's advisory locks in pg_locks, in total and per backend, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak_total = 0
        self.peak_per_backend = 0
        self.samples = 0

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                while not self.stop.is_set():
                    cursor.execute(
                        "SELECT pid, count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                        " GROUP BY pid"
                    )
                    counts = [count for _pid, count in cursor.fetchall()]
                    self.peak_total = max(self.peak_total, sum(counts))
                    self.peak_per_backend = max([self.peak_per_backend, *counts])
                    self.samples += 1
                    time.sleep(0.005)
        finally:
            connection.close()


def in_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Runs every job at once, each on its own thread (and database connection)."""
    results: list[Any] = [None] * len(jobs)
    start = threading.Barrier(len(jobs))

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = jobs[index]()
        except BaseException as problem:  # reported by the test
            results[index] = problem
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def client_for(user: Any, device: str) -> APIClient:
    client = APIClient()
    client.raise_request_exception = False  # a crash is a 500 to look at, as a client sees it
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user, device_id=device)}")
    return client


def test_concurrent_bulks_imports_and_pushes_store_everything_within_the_lock_bound(make_user):
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_locks_per_transaction")
        assert cursor.fetchone()[0] == "64"  # PostgreSQL's default
    officer = make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,), username="petugas-beban")
    operator = make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,), username="operator-beban")
    bulk_clients = [client_for(officer, f"bulk-{n}") for n in range(BULKS)]
    push_clients = [client_for(officer, f"tablet-{n}") for n in range(PUSHES)]
    panel = client_for(operator, "panel")

    # The imports' jobs are uploaded first (the worker picks them up); they run with the rest.
    first_import = BULKS * BULK_SIZE
    job_ids = []
    for n in range(IMPORTS):
        content = import_file(first_import + n * IMPORT_ROWS, IMPORT_ROWS)
        response = panel.post(
            "/api/v1/imports", {"file": SimpleUploadedFile(f"beban-{n}.csv", content)}, format="multipart"
        )
        assert response.status_code == 202, response.content
        job_ids.append(response.json()["id"])

    def bulk(n: int) -> Callable[[], int]:
        body = {"records": [bulk_record(n * BULK_SIZE + i) for i in range(BULK_SIZE)]}
        return lambda: bulk_clients[n].post("/api/v1/workers/bulk", body, format="json").status_code

    first_push = first_import + IMPORTS * IMPORT_ROWS

    def push(n: int) -> Callable[[], int]:
        workers = []
        for i in range(PUSH_WORKERS):
            index = first_push + n * PUSH_WORKERS + i
            nik, born = person(index)
            workers.append(flat_worker(id=f"load-push-{index}", nik=nik, birth_date=born.isoformat()))
        enrolments = [flat_enrolment(w["id"]) for w in workers]
        body = {
            "changes": {
                "workers": {"created": workers, "updated": [], "deleted": []},
                "enrolments": {"created": enrolments, "updated": [], "deleted": []},
            }
        }
        return lambda: push_clients[n].post("/api/v1/sync?last_pulled_at=0", body, format="json").status_code

    def run_import(job_id: str) -> Callable[[], str]:
        def run() -> str:
            import_job_run(job_id=job_id)
            return "ran"

        return run

    sampler = LockSampler()
    sampler.start()
    try:
        results = in_threads(
            [bulk(n) for n in range(BULKS)] + [run_import(j) for j in job_ids] + [push(n) for n in range(PUSHES)]
        )
    finally:
        sampler.stop.set()
        sampler.join()

    assert results == [200] * BULKS + ["ran"] * IMPORTS + [200] * PUSHES
    jobs = ImportJob.objects.filter(id__in=job_ids)
    assert (
        sorted(jobs.values_list("status", "invalid_count", "created_count"))
        == [(ImportStatus.COMPLETED, 0, IMPORT_ROWS)] * IMPORTS
    )
    assert Worker.objects.filter(id__startswith="load-bulk-").count() == BULKS * BULK_SIZE
    assert Worker.objects.filter(id__startswith="load-push-").count() == PUSHES * PUSH_WORKERS
    assert Enrolment.objects.filter(worker__id__startswith="load-push-").count() == PUSHES * PUSH_WORKERS
    assert Worker.objects.count() == BULKS * BULK_SIZE + IMPORTS * IMPORT_ROWS + PUSHES * PUSH_WORKERS
    assert Enrolment.objects.count() == IMPORTS * IMPORT_ROWS + PUSHES * PUSH_WORKERS
    assert Worker.objects.filter(needs_correction=True).count() == 0

    # The bound: per transaction, LOCK_BUCKETS per namespace; in total, that per writer.
    writers = BULKS + IMPORTS + PUSHES
    assert sampler.samples > 10
    assert 0 < sampler.peak_per_backend <= NAMESPACES * settings.LOCK_BUCKETS
    assert sampler.peak_total <= writers * NAMESPACES * settings.LOCK_BUCKETS
    print(  # noqa: T201 (the figure for docs/hard.md, with -s)
        f"load: peak advisory locks {sampler.peak_total} in total, {sampler.peak_per_backend} per backend,"
        f" {sampler.samples} samples"
    )
