"""config.bulk: one-statement inserts and updates behave like the ORM's."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from config.bulk import insert_models, update_models
from tests.factories import make_nik
from workers.models import Worker


def worker(worker_id, nik, **extra):
    return Worker(
        id=worker_id, village_id="17.04.01.2001", nik=nik, full_name="Ani", birth_date=dt.date(1990, 1, 1),
        sex="F", occupation_id="petani", heirs=[{"name": "Budi", "relationship": "child", "nik": "", "phone": ""}],
        **extra,
    )  # fmt: skip


def test_insert_stores_every_field_and_the_timestamps(db):
    insert_models(
        [worker("a1", make_nik(serial=1), monthly_income=None), worker("a2", make_nik(serial=2), phone="+62812")]
    )
    stored = {w.id: w for w in Worker.objects.all()}
    assert set(stored) == {"a1", "a2"}
    assert stored["a1"].heirs == [{"name": "Budi", "relationship": "child", "nik": "", "phone": ""}]
    assert (stored["a1"].monthly_income, stored["a2"].phone, stored["a1"].errors, stored["a1"].warnings) == (
        None,
        "+62812",
        {},
        [],
    )
    assert stored["a1"].birth_date == dt.date(1990, 1, 1)
    assert stored["a1"].created_at is not None
    assert stored["a1"].updated_at >= stored["a1"].created_at


def test_a_constraint_violation_is_django_integrity_error(db):
    nik = make_nik(serial=3)
    insert_models([worker("b1", nik)])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_models([worker("b2", nik)])  # one live worker per NIK
    assert list(Worker.objects.values_list("id", flat=True)) == ["b1"]


def test_update_writes_the_named_fields_only(db):
    insert_models([worker("c1", make_nik(serial=4)), worker("c2", make_nik(serial=5))])
    first, second = Worker.objects.order_by("id")
    first.full_name, first.warnings, first.birth_date = "Ani Lestari", ["possible_duplicate"], dt.date(1991, 2, 3)
    second.full_name, second.monthly_income = "Tidak Disimpan", 5
    update_models([first, second], ["full_name", "warnings", "birth_date"])
    first, second = Worker.objects.order_by("id")
    assert (first.full_name, first.warnings, first.birth_date) == (
        "Ani Lestari",
        ["possible_duplicate"],
        dt.date(1991, 2, 3),
    )
    assert (second.full_name, second.monthly_income) == ("Tidak Disimpan", None)
