"""No NIK, phone number or database row text in any log record (config/logmask.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

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


def settings_handler_output(fmt: str, log) -> str:
    """What `log(logger)` writes through a handler exactly as settings.LOGGING describes it (its
    filters, then the `fmt` formatter), on a logger of its own."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    formatter = settings.LOGGING["formatters"][fmt]
    handler.setFormatter(
        import_string(formatter["()"])() if "()" in formatter else logging.Formatter(formatter["format"])
    )
    for name in settings.LOGGING["handlers"]["console"]["filters"]:
        handler.addFilter(import_string(settings.LOGGING["filters"][name]["()"])())
    logger = logging.getLogger(f"tests.logmask.{fmt}")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        log(logger)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_a_nik_and_a_phone_in_a_message_and_in_an_exception_are_masked_once_in_one_format(fmt):
    """The filter is the only masking, and the JSON formatter keeps the filter's exception text
    rather than formatting the traceback afresh (which would bring the NIK back)."""

    def log(logger: logging.Logger) -> None:
        try:
            raise ValueError(f"no registry answer for nik {NIK} phone {PHONE}")
        except ValueError:
            logger.exception("worker %s phone %s not sent", NIK, PHONE)

    output = settings_handler_output(fmt, log)
    message = "worker 170401********** phone 0812******** not sent"
    exception = "ValueError: no registry answer for nik 170401********** phone 0812********"
    if fmt == "json":
        line = json.loads(output)
        assert line["message"] == message
        assert line["exception"].startswith("Traceback (most recent call last):\n")
        assert line["exception"].endswith("\n" + exception)
    else:
        assert f"[-] {message}\nTraceback (most recent call last):\n" in output
        assert output.endswith("\n" + exception + "\n")
    # Once: two NIKs (message, exception) and two phones, each in the filter's one format.
    assert output.count("170401**********") == 2
    assert output.count("0812********") == 2
    assert output.count("*") == 2 * 10 + 2 * 8  # 10 per NIK, 8 per phone: nothing masked twice
    assert NIK not in output
    assert PHONE not in output
    assert "0001" not in output
    assert "7890" not in output


def test_a_constraint_error_logged_with_its_traceback_carries_no_row_data(db, captured):
    WorkerFactory(id="first", nik=NIK, phone=PHONE)
    duplicate = Worker.objects.get(id="first")
    duplicate.id, duplicate.phone = "second", PHONE
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        insert_models([duplicate])  # the unique live NIK refuses it
    # PostgreSQL's DETAIL names the key (the NIK's blind index, the NIK being encrypted at rest)
    # and its CONTEXT quotes the failing row.
    assert f"Key (nik_bi)=({duplicate.nik_bi})" in str(refused.value)
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
    assert duplicate.nik_bi not in output
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


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_a_database_error_in_a_logged_exception_is_summarised_in_either_format(fmt):
    import psycopg

    error = psycopg.errors.UniqueViolation(f"duplicate key\nDETAIL:  Key (nik)=({NIK}) already exists.")

    def log(logger: logging.Logger) -> None:
        try:
            raise error  # the traceback quotes this line, not the one above
        except psycopg.Error:
            logger.exception("saving failed")

    output = settings_handler_output(fmt, log)
    exception = json.loads(output)["exception"] if fmt == "json" else output
    assert exception.rstrip("\n").endswith("psycopg.errors.UniqueViolation: UniqueViolation sqlstate=23505")
    assert "DETAIL" not in output
    assert "Key (" not in output
    assert NIK[6:] not in output


def test_a_driver_error_as_a_log_argument_is_summarised(captured):
    import psycopg

    error = psycopg.errors.UniqueViolation(f"duplicate key\nDETAIL:  Key (nik)=({NIK}) already exists.")
    logging.getLogger("x").warning("refused: %s (%s)", error, dt.date(2026, 1, 1))
    output = captured.getvalue()
    assert "refused: UniqueViolation sqlstate=" in output
    assert NIK not in output
