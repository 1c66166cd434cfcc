"""No NIK, phone number or database row text in any log record (config/logmask.py)."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from config.bulk import insert_models
from config.logmask import PersonalDataFilter, mask_text
from enrolment.imports.models import ImportJob
from enrolment.imports.services import processing
from tests.conftest import GEDUNG_WANI
from tests.factories import WorkerFactory
from tests.panel.test_imports import GOOD_1, csv_file, upload
from villages.models import Role
from workers.models import Worker

NIK = "1704014101900001"
PHONE = "081234567890"


@pytest.fixture
def operator(make_user):
    return make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,))


@pytest.fixture
def captured():
    """The root logger's output through a handler configured like settings.LOGGING's."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"]))
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)


def test_the_settings_put_the_filter_on_every_handler():
    assert set(settings.LOGGING["handlers"]) == {"console"}
    assert all("personal_data" in h["filters"] for h in settings.LOGGING["handlers"].values())
    assert settings.LOGGING["filters"]["personal_data"]["()"] == "config.logmask.PersonalDataFilter"


def test_niks_and_phones_are_masked():
    assert mask_text(f"nik {NIK} kk 1704010101010001, tel {PHONE} / +62 812-3456-7890") == (
        "nik 170401********** kk 170401**********, tel 0812******** / +62 812-****-****"
    )
    assert mask_text("job 12345 row 17 id 01133bc4-6322-4565") == "job 12345 row 17 id 01133bc4-6322-4565"


def test_a_constraint_error_logged_with_its_traceback_carries_no_row_data(db, captured):
    WorkerFactory(id="first", nik=NIK, phone=PHONE)
    duplicate = Worker.objects.get(id="first")
    duplicate.id, duplicate.phone = "second", PHONE
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        insert_models([duplicate])  # the unique live NIK refuses it
    assert NIK in str(refused.value)  # PostgreSQL's DETAIL names it
    try:
        raise RuntimeError("saving the chunk") from refused.value
    except RuntimeError:
        logging.getLogger("enrolment").exception("saving failed: %s", refused.value)
    output = captured.getvalue()
    assert "saving failed: IntegrityError sqlstate=23505" in output
    assert "constraint=" in output
    assert "Traceback (most recent call last)" in output
    assert NIK not in output
    assert NIK[6:] not in output
    assert "DETAIL" not in output
    assert "Key (" not in output


def test_a_failed_copy_in_an_import_logs_no_nik(
    api, operator, monkeypatch, captured, django_capture_on_commit_callbacks
):
    """A COPY that PostgreSQL refuses (here: its rows made unstorable) crashes the import's run;
    the job fails with a reason naming no data, and the log names none either, though
    PostgreSQL's CONTEXT line carried the whole row."""
    monkeypatch.setattr("enrolment.imports.tasks.import_run.delay", lambda job_id: None)
    job_id = upload(api(operator), csv_file([GOOD_1])).json()["id"]
    real_row = processing._row

    def unstorable(job, item):
        row = list(real_row(job, item))
        row[1] = f"Baris {item.parsed.nik} {item.parsed.worker.get('full_name')}"  # an integer column
        return tuple(row)

    monkeypatch.setattr(processing, "_row", unstorable)
    processing.import_job_run(job_id=job_id)

    job = ImportJob.objects.get(pk=job_id)
    assert job.status == "failed"
    assert (
        job.error
        == "Impor berhenti karena galat tak terduga (InvalidTextRepresentation). Galat sudah dicatat; coba lagi nanti."
    )
    output = captured.getvalue()
    assert f"import {job_id} failed: InvalidTextRepresentation sqlstate=22P02" in output
    assert GOOD_1[0] not in output
    assert GOOD_1[0][6:] not in output
    assert "CONTEXT" not in output
    assert "Siti" not in output
    assert Worker.objects.count() == 0  # the chunk was rolled back with its rows


def test_a_driver_error_as_a_log_argument_is_summarised(captured):
    import psycopg

    error = psycopg.errors.UniqueViolation(f"duplicate key\nDETAIL:  Key (nik)=({NIK}) already exists.")
    logging.getLogger("x").warning("refused: %s (%s)", error, dt.date(2026, 1, 1))
    output = captured.getvalue()
    assert "refused: UniqueViolation sqlstate=" in output
    assert NIK not in output
