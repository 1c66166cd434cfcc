"""Every case of tests/data/nik_test_vectors.json, through the API, as listed."""

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.factories import worker_payload
from villages.models import Role
from workers.models import Worker
from workers.nik import check_nik

VECTORS = json.loads((Path(__file__).resolve().parent.parent / "data" / "nik_test_vectors.json").read_text())["cases"]


def declared(case):
    """The birth date and sex a field officer would declare for this person (from the NIK)."""
    check = check_nik(case["nik"])
    if not check.valid:
        return "1990-01-01", "M"
    born = dt.date.fromisoformat(case["birth_date"]) if "birth_date" in case else check.birth_dates[-1]
    return born.isoformat(), check.sex


@pytest.mark.parametrize("case", VECTORS, ids=[f"{c['nik']}-{c['expect']}" for c in VECTORS])
def test_nik_vector_through_the_api(api, make_user, case):
    client = api(make_user(role=Role.FIELD_OFFICER))
    birth_date, sex = declared(case)
    body = worker_payload(nik=case["nik"], birth_date=birth_date, sex=sex)

    response = client.post("/api/v1/workers", body, format="json")

    if case["expect"] == "error":
        assert response.status_code == 400, response.json()
        error = response.json()["error"]
        assert error["code"] == "nik_invalid"
        assert list(error["details"]["fields"]) == ["nik"]
        assert not Worker.objects.filter(id=body["id"]).exists()
    else:
        assert response.status_code == 201, response.json()
        stored = Worker.objects.get(id=body["id"])
        assert stored.nik == "".join(ch for ch in case["nik"] if ch.isdigit())
        nik_warnings = [w for w in stored.warnings if w.startswith("nik_")]
        assert nik_warnings == (["nik_region_unknown"] if case["expect"] == "warning" else [])
        assert response.json()["warnings"] == stored.warnings


def test_declared_birth_date_and_sex_that_differ_from_the_nik_warn_but_are_stored(api, make_user):
    client = api(make_user())
    body = worker_payload(nik="1704014101900001", birth_date="1990-01-02", sex="M")  # NIK: female, 1 Jan

    response = client.post("/api/v1/workers", body, format="json")

    assert response.status_code == 201
    assert Worker.objects.get(id=body["id"]).warnings == ["nik_birth_date_mismatch", "nik_sex_mismatch"]


@pytest.mark.parametrize(
    ("nik", "reason"),
    [
        ("1704010101900000", "serial"),
        ("1704013102900001", "real date"),
        ("1704000101900001", "00"),
        ("9901010101900001", "Province code 99"),
        ("170401010190001", "16 digits"),
        ("1704010113900001", "month"),
    ],
)
def test_each_rejection_says_why(nik, reason):
    from django.utils import translation

    with translation.override("en"):
        check = check_nik(nik)
        assert not check.valid
        assert any(reason in str(message) for message in check.errors), [str(m) for m in check.errors]


def test_two_digit_year_takes_either_century():
    assert check_nik("1704012902000001").birth_dates == (dt.date(2000, 2, 29),)
    assert set(check_nik("1704010101900001").birth_dates) == {dt.date(1990, 1, 1), dt.date(2090, 1, 1)}
