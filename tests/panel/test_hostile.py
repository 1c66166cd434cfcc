"""Hostile input (issue 11): each case answers a 4xx in the envelope, or is stored safely, and
nothing stored changes that should not."""

from __future__ import annotations

import csv
import io
import json
import threading
import zipfile

import pytest
from openpyxl import load_workbook

from tests.conftest import GEDUNG_WANI, VILLAGE_B, committed
from tests.factories import EnrolmentFactory, WorkerFactory, token_for, worker_payload
from tests.panel.test_imports import GOOD_1, GOOD_2, csv_file, run, xlsx_file
from tests.sync.helpers import flat_worker
from villages.models import Device, Role
from workers.models import Worker


@pytest.fixture
def officer(make_user):
    return make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,), username="petugas-hostile")


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr("enrolment.imports.tasks.import_run.delay", lambda job_id: None)


def stored():
    return sorted(Worker.objects.values_list("id", "version", "full_name"))


def post_raw(client, url, text, method="post"):
    return getattr(client, method)(url, text, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def assert_refused(response, status, code):
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "details"}


# --- lone surrogates, nesting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/workers", worker_payload(id="w-sur", full_name="Siti \ud800")),
        ("/api/v1/workers/bulk", {"records": [worker_payload(id="w-sur", birth_place="\udfff")]}),
        ("/api/v1/sync?last_pulled_at=0", {"changes": {"workers": {"created": [flat_worker(id="w-sur", full_name="\ud83d")]}}}),
        ("/api/v1/workers", {**worker_payload(id="w-sur"), "\ud800": 1}),
    ],
)  # fmt: skip
def test_a_lone_surrogate_anywhere_is_a_400_and_nothing_is_stored(api, officer, url, body):
    before = stored()
    response = post_raw(api(officer), url, json.dumps(body))  # ensure_ascii: "\ud800" as JSON writes it
    assert_refused(response, 400, "malformed_json")
    assert response.json()["error"]["details"]["reason"] == "JSON text holds a lone surrogate"
    assert stored() == before


def test_a_lone_surrogate_in_a_patch_changes_nothing(api, officer):
    WorkerFactory(id="w-1", full_name="Siti Aminah")
    response = post_raw(api(officer), "/api/v1/workers/w-1", json.dumps({"full_name": "\ud800"}), method="patch")
    assert_refused(response, 400, "malformed_json")
    assert Worker.objects.get(id="w-1").full_name == "Siti Aminah"


@pytest.mark.parametrize("depth", [40, 50_000])
def test_a_body_nested_too_deep_is_a_400(api, officer, depth):
    body = json.dumps(worker_payload(id="w-deep"))[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
    response = post_raw(api(officer), "/api/v1/workers", body)
    assert_refused(response, 400, "malformed_json")
    assert Worker.objects.count() == 0


# --- sync: JSON-string columns, parallel pulls -------------------------------------------------------


def test_a_sync_json_column_over_the_size_cap_is_a_400(api, officer, settings):
    settings.SYNC_MAX_JSON_COLUMN_CHARS = 1000
    deep = "[" * 50_000 + "]" * 50_000
    body = {"changes": {"workers": {"created": [flat_worker(id="w-deep", heirs=deep)]}}}
    response = api(officer).post("/api/v1/sync?last_pulled_at=0", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert_refused(response, 400, "validation_failed")
    assert response.json()["error"]["details"]["fields"] == {
        "changes.workers.created.0.heirs": ["Too long: at most 1000 characters."]
    }
    assert Worker.objects.count() == 0


def test_a_sync_json_column_nested_too_deep_is_a_field_error_of_its_record(api, officer):
    deep = "[" * 40 + "]" * 40  # small, but deeper than JSON_MAX_DEPTH once decoded
    body = {"changes": {"workers": {"created": [flat_worker(id="w-deep", heirs=deep)]}}}
    response = api(officer).post("/api/v1/sync?last_pulled_at=0", body, format="json")
    assert response.status_code == 200, response.content[:300]
    worker = Worker.objects.filter(id="w-deep").first()
    quarantined = response.json()["quarantined"]
    # Kept flagged (its heirs a field error) or quarantined: either way stored safely, no 500.
    assert (worker is not None and worker.needs_correction and "heirs" in worker.errors) or [
        q["id"] for q in quarantined
    ] == ["w-deep"]


@committed
def test_parallel_pulls_from_one_device_all_answer(make_user):
    from django.db import connection
    from rest_framework.test import APIClient

    officer = make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,), username="petugas-pulls")
    WorkerFactory(id="w-pull")
    token = token_for(officer, device_id="tablet-1")
    statuses: list[int] = []
    start = threading.Barrier(9)

    def pull():
        try:
            client = APIClient()
            client.raise_request_exception = False
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            start.wait()
            statuses.append(client.get("/api/v1/sync").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pull) for _ in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 9
    assert Device.objects.get(user=officer, device_id="tablet-1").last_pull_at is not None


# --- bodies: non-object PATCH, chunked ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["[]", "1", '"x"', "null"])
@pytest.mark.parametrize("kind", ["workers", "enrolments"])
def test_a_patch_whose_body_is_not_an_object_is_a_400(api, make_user, text, kind):
    operator = make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,))
    enrolment = EnrolmentFactory(id="e-1")
    target = enrolment.worker_id if kind == "workers" else enrolment.id
    versions = (enrolment.worker.version, enrolment.version)
    response = post_raw(api(operator), f"/api/v1/{kind}/{target}", text, method="patch")
    assert_refused(response, 400, "validation_failed")
    assert response.json()["error"]["details"]["fields"] == {"non_field_errors": ["Send a JSON object."]}
    enrolment.refresh_from_db()
    enrolment.worker.refresh_from_db()
    assert (enrolment.worker.version, enrolment.version) == versions


def test_a_chunked_body_is_refused_with_411(api, officer):
    WorkerFactory(id="w-1", full_name="Siti Aminah")
    response = api(officer).patch(
        "/api/v1/workers/w-1", {"full_name": "Lain"}, format="json", HTTP_TRANSFER_ENCODING="chunked"
    )
    assert_refused(response, 411, "length_required")
    assert Worker.objects.get(id="w-1").full_name == "Siti Aminah"


# --- POST with another scope's id --------------------------------------------------------------------


def test_a_post_with_another_scopes_id_answers_as_an_id_already_used(api, officer):
    WorkerFactory(id="theirs", village_id=VILLAGE_B)
    WorkerFactory(id="gone", village_id=VILLAGE_B, deleted_at="2026-11-01T00:00:00Z")
    client = api(officer)
    assert client.post("/api/v1/workers", worker_payload(id="mine"), format="json").status_code == 201
    own_reused = client.post("/api/v1/workers", worker_payload(id="mine", full_name="Lain Orang"), format="json")
    before = stored()
    for foreign in ("theirs", "gone"):
        response = client.post("/api/v1/workers", worker_payload(id=foreign), format="json")
        assert (response.status_code, response.json()) == (own_reused.status_code, own_reused.json())
    assert stored() == before


# --- exports ------------------------------------------------------------------------------------------


def test_an_export_area_with_control_characters_keeps_the_header_sane(api, admin_user):
    WorkerFactory(id="w-1")
    response = api(admin_user).get("/api/v1/exports/workers.csv", {"area": '17\r\n\x01"x'})
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="pekerja-17____x-')
    assert all(32 <= ord(c) < 127 for c in disposition)
    assert response["Cache-Control"] == "no-store"


def test_formula_like_cells_are_neutralised_in_csv_and_text_in_xlsx(api, make_user):
    operator = make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,))
    WorkerFactory(id="w-f", full_name='=HYPERLINK("http://x.example","klik")', birth_place="@SUM(A1)",
                  mother_maiden_name="-2+3", phone="+6281234567890")  # fmt: skip
    client = api(operator)
    text = b"".join(client.get("/api/v1/exports/workers.csv").streaming_content).decode("utf-8")[1:]
    header, row = list(csv.reader(io.StringIO(text)))[:2]
    record = dict(zip(header, row, strict=True))
    assert record["Nama Lengkap"] == '\'=HYPERLINK("http://x.example","klik")'
    assert record["Tempat Lahir"] == "'@SUM(A1)"
    assert record["Nama Ibu Kandung"] == "'-2+3"
    assert record["No HP"] == "+6281234567890"  # a phone number stays as it is

    response = client.get("/api/v1/exports/workers.xlsx")
    assert response["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cells = {sheet.cell(1, c).value: sheet.cell(2, c) for c in range(1, sheet.max_column + 1)}
    assert (cells["Nama Lengkap"].data_type, cells["Nama Lengkap"].value) == (
        "s",
        '=HYPERLINK("http://x.example","klik")',
    )
    assert cells["Tempat Lahir"].data_type == "s"


def test_api_answers_carry_no_store(api, officer):
    WorkerFactory(id="w-1")
    assert api(officer).get("/api/v1/workers/w-1")["Cache-Control"] == "no-store"


# --- imports: NUL bytes, caps ---------------------------------------------------------------------------


def test_nul_bytes_make_their_row_invalid_and_the_others_import(api, make_user):
    operator = make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,))
    bad = list(GOOD_2)
    bad[1] = "Dar\x00mawan"
    job, rows = run(api(operator), csv_file([GOOD_1, bad]))
    assert (job["status"], job["counts"]["created"], job["counts"]["invalid"]) == ("completed", 1, 1)
    assert rows[3]["error"]["details"]["fields"] == {
        "Nama Lengkap": ["Sel berisi karakter NUL (berkas rusak?): ketik ulang isinya."]
    }
    assert list(Worker.objects.values_list("full_name", flat=True)) == ["Siti Aminah"]


def test_a_cell_over_the_cell_cap_makes_its_row_invalid(api, make_user, settings):
    settings.IMPORT_MAX_CELL_CHARS = 50
    operator = make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,))
    long = list(GOOD_2)
    long[1] = "Darmawan " * 10
    job, rows = run(api(operator), csv_file([GOOD_1, long]))
    assert (job["counts"]["created"], job["counts"]["invalid"]) == (1, 1)
    assert rows[3]["error"]["details"]["fields"] == {
        "Nama Lengkap": ["Sel terlalu panjang: paling banyak 50 karakter."]
    }


@pytest.mark.parametrize(
    ("setting", "value", "content", "message"),
    [
        ("IMPORT_MAX_ROWS", 1, csv_file([GOOD_1, GOOD_2]), "Berkas berisi lebih dari 1 baris: pecah berkasnya."),
        ("IMPORT_MAX_COLUMNS", 5, csv_file([GOOD_1]), "Berkas berisi lebih dari 5 kolom."),
        ("IMPORT_MAX_COLUMNS", 12, csv_file([[*GOOD_1, "x"]]), "Baris 2 berisi lebih dari 12 kolom."),
    ],
)
def test_files_over_the_row_or_column_caps_fail_with_the_reason(
    api, make_user, settings, setting, value, content, message
):
    setattr(settings, setting, value)
    settings.IMPORT_CHUNK_ROWS = 1
    operator = make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,))
    job, _rows = run(api(operator), content)
    assert (job["status"], job["error"]) == ("failed", message)
    if setting == "IMPORT_MAX_ROWS":
        assert job["counts"]["created"] == 1  # the chunks before the cap, as for a file damaged halfway


def test_an_xlsx_that_unpacks_past_the_cap_is_refused_unread(api, make_user, settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 1024 * 1024
    operator = make_user(Role.VILLAGE_OPERATOR, (GEDUNG_WANI,))
    # A real workbook, plus a part of 2 MB of zeros that compresses to a few KB.
    buffer = io.BytesIO(xlsx_file([GOOD_1]))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\x00" * (2 * 1024 * 1024))
    content = buffer.getvalue()
    assert len(content) < 100_000
    job, _rows = run(api(operator), content, name="bom.xlsx")
    assert (job["status"], job["error"]) == (
        "failed",
        "Isi buku kerja lebih dari 1 MB setelah dibuka: pecah berkasnya.",
    )
    assert Worker.objects.count() == 0
