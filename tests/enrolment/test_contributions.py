"""Contributions from the rate tables in the database, through the API."""

import datetime as dt

import pytest

from enrolment.models import ContributionRule, Enrolment, IncomeBand
from tests.factories import WorkerFactory
from villages.models import Role


@pytest.fixture
def client(api, make_user):
    return api(make_user(role=Role.FIELD_OFFICER))


def enrol(client, worker, *, funding, start, programs=("JKK", "JKM")):
    response = client.post(
        "/api/v1/enrolments",
        {"worker": worker.id, "funding_source": funding, "coverage_start": start, "programs": list(programs)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_regency_funded_fisher_in_may_2026_pays_the_full_package(client, db):
    fisher = WorkerFactory(occupation_id="nelayan", monthly_income=1_500_000)
    body = enrol(client, fisher, funding="apbd_kabupaten", start="2026-05-01")
    assert body["monthly_contribution"] == 16_800
    assert body["annual_contribution"] == 16_800 * 12
    assert body["contribution_detail"]["programs"] == {"JKK": 10_000, "JKM": 6_800}
    assert body["contribution_detail"]["discount_names"] == []
    assert Enrolment.objects.get(id=body["id"]).monthly_contribution == 16_800


def test_self_paid_fisher_in_may_2026_gets_the_pp_50_2025_discount(client, db):
    fisher = WorkerFactory(occupation_id="nelayan")
    body = enrol(client, fisher, funding="mandiri", start="2026-05-01")
    assert body["monthly_contribution"] == 8_400
    assert body["contribution_detail"]["programs"] == {"JKK": 5_000, "JKM": 3_400}
    assert body["contribution_detail"]["discount_names"] == ["PP 50/2025"]
    # May-Dec 2026 discounted (8 months), Jan-Apr 2027 full (4 months).
    assert body["annual_contribution"] == 8 * 8_400 + 4 * 16_800


def test_self_paid_farmer_with_jht_at_the_lowest_band(client, db):
    farmer = WorkerFactory(occupation_id="petani", monthly_income=800_000)
    in_discount = enrol(client, farmer, funding="mandiri", start="2026-05-01", programs=("JKK", "JKM", "JHT"))
    assert in_discount["contribution_detail"]["base_idr"] == 1_000_000
    # JKK 1 % of Rp 1,000,000 and JKM halved; JHT (2 %) is never discounted.
    assert in_discount["contribution_detail"]["programs"] == {"JKK": 5_000, "JKM": 3_400, "JHT": 20_000}
    assert in_discount["monthly_contribution"] == 28_400

    other = WorkerFactory(occupation_id="petani", monthly_income=None)
    after_discount = enrol(client, other, funding="mandiri", start="2027-01-01", programs=("JKK", "JKM", "JHT"))
    assert after_discount["monthly_contribution"] == 36_800


@pytest.mark.parametrize(
    ("occupation", "funding", "start", "expected"),
    [
        ("ojek", "mandiri", "2026-02-01", 8_400),  # transport: discounted from January 2026
        ("nelayan", "mandiri", "2026-02-01", 16_800),  # other groups only from April
        ("ojek", "mandiri", "2027-03-01", 8_400),  # transport until March 2027
        ("ojek", "mandiri", "2027-04-01", 16_800),
        ("ojek", "apbn", "2026-02-01", 16_800),  # never for APBN/APBD funding
        ("nelayan", "apbd_provinsi", "2026-06-01", 16_800),
        ("nelayan", "csr", "2026-06-01", 16_800),  # donors pay the package; the discount is for self-payers
    ],
)
def test_discount_periods_sectors_and_funding(client, db, occupation, funding, start, expected):
    worker = WorkerFactory(occupation_id=occupation)
    assert enrol(client, worker, funding=funding, start=start)["monthly_contribution"] == expected


def test_rates_are_effective_dated_rows_in_the_database(client, db):
    ContributionRule.objects.filter(program="JKM", segment="BPU").update(valid_to=dt.date(2026, 12, 31))
    ContributionRule.objects.create(
        segment="BPU", program="JKM", basis="flat", flat_idr=7_500, valid_from=dt.date(2027, 1, 1), source="test"
    )
    IncomeBand.objects.create(segment="BPU", income_from=2_000_001, base_idr=2_500_000, valid_from=dt.date(2015, 7, 1))

    before = enrol(client, WorkerFactory(), funding="apbd_kabupaten", start="2026-12-01")
    after = enrol(client, WorkerFactory(), funding="apbd_kabupaten", start="2027-01-01")
    richer = enrol(client, WorkerFactory(monthly_income=3_000_000), funding="apbd_kabupaten", start="2027-01-01")

    assert before["monthly_contribution"] == 16_800
    assert before["annual_contribution"] == 16_800 + 11 * 17_500
    assert after["monthly_contribution"] == 10_000 + 7_500
    assert richer["monthly_contribution"] == 25_000 + 7_500


def test_a_program_without_a_rule_is_a_clear_error(client, db):
    ContributionRule.objects.filter(program="JHT", segment="BPU").update(valid_to=dt.date(2026, 6, 30))
    response = client.post(
        "/api/v1/enrolments",
        {
            "worker": WorkerFactory().id,
            "funding_source": "mandiri",
            "coverage_start": "2026-06-01",
            "programs": ["JKK", "JKM", "JHT"],
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "contribution_rule_missing"
    assert error["details"]["fields"]["programs"] == [
        "No JHT rule is in force for 2026-07; an administrator must add it."
    ]
    assert Enrolment.objects.count() == 0
