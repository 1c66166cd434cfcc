"""Spreadsheet imports: every row accounted for, bad rows explained, good rows stored once."""

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from config.pii import blind_index
from enrolment.imports.layout import HEADERS, derived_worker_id
from enrolment.imports.models import ImportJob, ImportRow
from enrolment.imports.services import import_job_run, processing
from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, KAUR, VILLAGE_B
from tests.factories import WorkerFactory, make_nik
from villages.models import AuditEvent, Role
from workers.models import Worker

COLUMNS = ["NIK", "Nama Lengkap", "Jenis Kelamin", "Tanggal Lahir", "Kode Desa", "Pekerjaan", "No HP",
           "Sumber Dana", "Mulai Kepesertaan", "Tanggal Persetujuan", "Cara Persetujuan", "Ajukan"]  # fmt: skip
GOOD_1 = ["1704014101900001", "Siti Aminah", "P", "01-01-1990", GEDUNG_WANI, "Nelayan", "0812 3456 7890",
          "APBD Kabupaten/Kota", "01-12-2026", "20-11-2026", "tanda tangan", "Ya"]  # fmt: skip
GOOD_2 = ["1704010502850002", "Darmawan", "L", "1985-02-05", GEDUNG_WANI, "petani", "",
          "", "", "", "", ""]  # fmt: skip
BAD_NIK = ["1704013202850003", "Salah Tanggal", "L", "1985-02-05", GEDUNG_WANI, "petani", "",
           "", "", "", "", ""]  # fmt: skip
SHORT_NIK = ["17040105", "Terlalu Pendek", "L", "1985-02-05", GEDUNG_WANI, "petani", "", "", "", "", "", ""]
UNKNOWN_VILLAGE = ["1704010603800004", "Desa Entah", "L", "06-03-1980", "17.04.01.9999", "petani", "",
                   "", "", "", "", ""]  # fmt: skip
BAD_DATE_AND_SEX = ["1704010703800005", "Isian Salah", "X", "31/02/1980", GEDUNG_WANI, "astronot", "",
                    "", "", "", "", ""]  # fmt: skip
BAD_ENROLMENT = ["1704010803800006", "Dana Entah", "L", "08-03-1980", GEDUNG_WANI, "petani", "",
                 "Bank Dunia", "01-12-2026", "", "", ""]  # fmt: skip
BLANK = [""] * len(COLUMNS)


def csv_file(rows, columns=COLUMNS, delimiter=";", encoding="utf-8-sig"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_file(rows, columns=COLUMNS):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(columns)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, content, name="peserta.csv", **data):
    return client.post("/api/v1/imports", {"file": SimpleUploadedFile(name, content), **data}, format="multipart")


def run(client, content, name="peserta.csv", **data):
    """Uploads, runs the job as the Celery worker would, returns (job body, rows by number)."""
    response = upload(client, content, name, **data)
    assert response.status_code == 202, response.json()
    import_job_run(job_id=response.json()["id"])
    job = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    rows = client.get(f"{job['rows_url']}?page_size=500").json()["results"]
    return job, {row["row"]: row for row in rows}


def snapshot():
    return (
        sorted(Worker.objects.values_list("id", "version")),
        sorted(Enrolment.objects.values_list("id", "version", "status")),
        # Changes only: reading the rows adds a `list` row per person (villages.audit.audit_people).
        AuditEvent.objects.exclude(object_type__in=["import_job", "import_row"]).exclude(action="list").count(),
    )


FILE_ROWS = [GOOD_1, GOOD_2, BAD_NIK, GOOD_1, UNKNOWN_VILLAGE, BLANK, BAD_DATE_AND_SEX, SHORT_NIK, BAD_ENROLMENT]


def test_import_accounts_for_every_row_and_again_changes_nothing(api, operator):
    client = api(operator, language="en")

    job, rows = run(client, csv_file(FILE_ROWS))

    assert job["status"] == "completed"
    assert job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "invalid": 6}
    assert job["progress"] == {"processed_rows": 9, "total_rows": 8, "percent": 100}
    assert sorted(rows) == [2, 3, 4, 5, 6, 8, 9, 10]  # row 7 is blank: not a data row
    assert {n: r["result"] for n, r in rows.items()} == {
        2: "created", 3: "created", 4: "invalid", 5: "invalid", 6: "invalid", 8: "invalid", 9: "invalid",
        10: "invalid",
    }  # fmt: skip
    assert rows[4]["error"]["code"] == "nik_invalid"
    assert rows[4]["error"]["details"]["fields"] == {
        "NIK": ["The birth day in the NIK must be 01-31 (men) or 41-71 (women)."]
    }
    assert rows[5]["error"] == {
        "code": "duplicate_row",
        "message": "This row repeats the person of row 2; only that row is imported.",
        "details": {"row": 2},
    }
    assert rows[6]["error"]["code"] == "village_not_allowed"
    assert list(rows[6]["error"]["details"]["fields"]) == ["Kode Desa"]
    assert rows[8]["error"]["details"]["fields"] == {
        "Jenis Kelamin": ["Write L (male) or P (female)."],
        "Tanggal Lahir": ["This date does not exist."],
        "Pekerjaan": ["Unknown occupation; use a code or name from the Kode sheet."],
    }
    assert rows[9]["error"]["details"]["fields"] == {"NIK": ["A NIK has exactly 16 digits."]}
    assert rows[9]["nik"] == "********"
    # The person of row 10 is stored, their enrolment is not: the row says both.
    assert (rows[10]["worker_result"], rows[10]["enrolment_result"]) == ("created", "invalid")
    assert rows[10]["error"]["details"]["part"] == "enrolment"
    assert list(rows[10]["error"]["details"]["fields"]) == ["Sumber Dana"]
    assert (rows[2]["worker_result"], rows[2]["enrolment_result"], rows[2]["nik"]) == (
        "created",
        "created",
        "1704********0001",
    )

    siti = Worker.objects.get(nik_bi=blind_index("1704014101900001", purpose="nik"))
    assert siti.id == derived_worker_id(GEDUNG_WANI, "1704014101900001") == rows[2]["worker"]
    assert (siti.full_name, siti.sex, siti.birth_date, siti.phone, siti.occupation_id) == (
        "Siti Aminah",
        "F",
        dt.date(1990, 1, 1),
        "+6281234567890",
        "nelayan",
    )
    assert siti.consent_recorded_by == "operator-wani"
    # The template has no notice column: the notice in force on the day of consent, its first purpose.
    assert (siti.consent_notice_version, siti.consent_purpose) == ("2025-01", "enrolment")
    enrolment = Enrolment.objects.get(worker=siti)
    assert (enrolment.status, enrolment.funding_source_id, enrolment.monthly_contribution, enrolment.budget_year) == (
        "submitted",
        "apbd_kabupaten",
        16_800,
        2026,
    )
    assert sorted(Worker.objects.values_list("full_name", flat=True)) == ["Dana Entah", "Darmawan", "Siti Aminah"]
    assert Enrolment.objects.count() == 1
    before = snapshot()

    again, again_rows = run(client, csv_file(FILE_ROWS))

    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "invalid": 6}
    assert {n: r["result"] for n, r in again_rows.items()} == {
        n: "unchanged" if n in (2, 3) else "invalid" for n in rows
    }
    assert snapshot() == before
    assert AuditEvent.objects.filter(object_type="import_job", context__stage="completed").count() == 2


def test_xlsx_import_with_date_cells_numbers_and_indonesian_messages(api, operator):
    row = ["1704010502850002", "Darmawan", "L", dt.datetime(1985, 2, 5), GEDUNG_WANI, "Petani", 81234567890,
           "apbdes", dt.date(2026, 12, 1), dt.datetime(2026, 11, 20, 9, 30), "cap jempol", "ya"]  # fmt: skip
    job, rows = run(api(operator), xlsx_file([row, BAD_NIK]), name="data desa.xlsx")

    assert (job["format"], job["counts"]["created"], job["counts"]["invalid"]) == ("xlsx", 1, 1)
    assert rows[3]["error"]["message"] == "NIK tidak valid."
    worker = Worker.objects.get(id=rows[2]["worker"])
    assert (worker.birth_date, worker.phone, worker.consent_method) == (
        dt.date(1985, 2, 5),
        "+6281234567890",
        "thumbprint",
    )
    assert worker.consent_given_at == dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.UTC)
    assert Enrolment.objects.get(worker=worker).status == "submitted"


def test_dry_run_reports_and_stores_nothing(api, operator):
    job, rows = run(api(operator), csv_file([GOOD_1, BAD_NIK]), dry_run="true")

    assert (job["dry_run"], job["counts"]) == (True, {"created": 1, "updated": 0, "unchanged": 0, "invalid": 1})
    assert rows[2]["result"] == "created"
    assert Worker.objects.count() == 0
    assert Enrolment.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type__in=["worker", "enrolment"]).exists()


def test_a_row_about_a_stored_person_updates_only_what_it_fills(api, operator):
    stored = WorkerFactory(nik="1704010502850002", full_name="Darmawan", phone="+6281299998888",
                           address_street="Jl. Lama", occupation_id="nelayan", birth_date=dt.date(1985, 2, 5))  # fmt: skip
    _job, rows = run(api(operator), csv_file([GOOD_2]))

    assert rows[2]["result"] == "updated"
    assert rows[2]["worker"] == stored.id  # the live holder of the NIK, not a new record
    stored.refresh_from_db()
    assert (stored.occupation_id, stored.phone, stored.address_street, stored.version) == (
        "petani",
        "+6281299998888",
        "Jl. Lama",
        2,
    )
    assert Worker.objects.count() == 1


def test_a_nik_registered_outside_the_importers_areas_is_refused_without_details(api, operator):
    WorkerFactory(nik="1704010502850002", village_id="17.01.01.2001", full_name="Rahasia")
    _job, rows = run(api(operator), csv_file([GOOD_2]))

    assert rows[2]["error"] == {
        "code": "nik_already_registered",
        "message": "NIK ini sudah terdaftar.",
        "details": {"part": "worker"},
    }
    assert Worker.objects.count() == 1


def test_exported_file_imports_back_unchanged(api, operator):
    run(api(operator), csv_file([GOOD_1, GOOD_2]))
    export = api(operator).get("/api/v1/exports/workers.xlsx", {"full_nik": "true"})
    content = b"".join(export.streaming_content)
    before = snapshot()

    job, _rows = run(api(operator), content, name="ekspor.xlsx")

    assert job["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "invalid": 0}
    assert job["ignored_columns"] == ["Status Kepesertaan", "No KPJ", "Peringatan", "Perlu Koreksi", "Diperbarui"]
    assert snapshot() == before


def test_missing_columns_fail_the_job(api, operator):
    job, rows = run(api(operator), csv_file([["Siti"]], columns=["Nama Lengkap"]))
    assert job["status"] == "failed"
    assert job["error"].startswith("Kolom tidak ada: NIK, Jenis Kelamin, Tanggal Lahir, Kode Desa, Pekerjaan.")
    assert rows == {}
    assert ImportJob.objects.get().file.name == ""  # the upload is not kept


@pytest.mark.parametrize(
    ("name", "content"),
    [("foto.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00"), ("kosong.csv", b"")],
)
def test_wrong_files_are_refused(api, operator, name, content):
    response = upload(api(operator), content, name)
    assert response.status_code in (400, 415)
    assert ImportJob.objects.count() == 0


def test_upload_needs_a_file_and_multipart(api, operator):
    client = api(operator)
    assert client.post("/api/v1/imports", {}, format="multipart").json()["error"]["code"] == "validation_failed"
    assert client.post("/api/v1/imports", {"file": "x"}, format="json").status_code == 415


def test_resending_while_queued_returns_the_same_job(api, operator):
    client = api(operator)
    first = upload(client, csv_file([GOOD_1]))
    second = upload(client, csv_file([GOOD_1]))
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["id"] == second.json()["id"]
    assert ImportJob.objects.count() == 1


def test_a_second_run_resumes_and_never_repeats_a_chunk(api, operator, settings, monkeypatch):
    settings.IMPORT_CHUNK_ROWS = 2
    rows = [[make_nik(dt.date(1980, 1, 1 + n)), f"Warga {'ABCDE'[n]}", "L", f"{1 + n:02d}-01-1980", GEDUNG_WANI, "petani",
             "", "", "", "", "", ""] for n in range(5)]  # fmt: skip
    response = upload(api(operator), csv_file(rows))
    job = ImportJob.objects.get(id=response.json()["id"])
    real_chunk = processing._run_chunk
    calls = []

    def dies_on_second_chunk(context, chunk, offset):
        calls.append(offset)
        if len(calls) == 2:
            raise SystemExit("worker lost")  # the process ends mid-file (a crash is failed instead)
        real_chunk(context, chunk, offset)

    monkeypatch.setattr(processing, "_run_chunk", dies_on_second_chunk)
    with pytest.raises(SystemExit):
        import_job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, Worker.objects.count()) == ("running", 2, 2)

    monkeypatch.setattr(processing, "_run_chunk", real_chunk)
    import_job_run(job_id=job.id)
    import_job_run(job_id=job.id)  # a redelivered task finds it done

    job.refresh_from_db()
    assert (job.status, job.created_count, job.processed_rows) == ("completed", 5, 5)
    assert list(ImportRow.objects.filter(job=job).values_list("row_number", "result")) == [
        (n, "created") for n in range(2, 7)
    ]
    assert Worker.objects.count() == 5
    assert AuditEvent.objects.filter(object_type="worker", action="create").count() == 5


def test_jobs_are_scoped(api, operator, make_user):
    response = upload(api(operator), csv_file([GOOD_1]))
    job_id = response.json()["id"]
    neighbour = make_user(role=Role.VILLAGE_OPERATOR, areas=(VILLAGE_B,))
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    other_supervisor = make_user(role=Role.SUPERVISOR, areas=("17.01",))

    assert api(neighbour).get(f"/api/v1/imports/{job_id}").status_code == 404
    assert api(other_supervisor).get(f"/api/v1/imports/{job_id}/rows").status_code == 404
    assert api(supervisor).get(f"/api/v1/imports/{job_id}").status_code == 200
    assert [j["id"] for j in api(supervisor).get("/api/v1/imports").json()["results"]] == [job_id]
    assert api(neighbour).get("/api/v1/imports").json()["results"] == []
    assert upload(api(supervisor), csv_file([GOOD_1])).status_code == 403


def test_templates_in_indonesian(api, make_user):
    client = api(make_user(role=Role.FIELD_OFFICER))
    csv_body = client.get("/api/v1/imports/template.csv")
    xlsx_body = client.get("/api/v1/imports/template.xlsx")

    assert csv_body.status_code == xlsx_body.status_code == 200
    assert csv_body.content.decode("utf-8-sig").strip() == ",".join(HEADERS)
    workbook = load_workbook(io.BytesIO(xlsx_body.content), read_only=True)
    assert workbook.sheetnames == ["Peserta", "Petunjuk", "Kode"]
    assert [c.value for c in next(workbook["Peserta"].iter_rows(max_row=1))] == list(HEADERS)
    guide = {row[0]: row[1] for row in workbook["Petunjuk"].iter_rows(min_row=2, values_only=True) if row[0]}
    assert guide["NIK"] == "ya"
    assert "attachment" in xlsx_body["Content-Disposition"]
