"""The coverage report's allocated and committed money, and cover about to end, on the API and
on a device's next pull."""

from __future__ import annotations

import datetime as dt

from enrolment.models import Status
from tests.conftest import KAUR
from tests.factories import EnrolmentFactory, WorkerFactory
from tests.funding.conftest import make_allocation
from villages.models import Role


def test_the_coverage_report_shows_allocated_against_committed(api, make_user):
    make_allocation(amount_idr=10 * 201_600)
    make_allocation(
        id="sk-desa", area_id="17.04.01.2001", decree_number="SK desa", amount_idr=1_000_000, quota_workers=5
    )
    for n in range(2):
        EnrolmentFactory(id=f"e{n}", worker=WorkerFactory(id=f"w{n}"), status=Status.ACTIVE,
                         allocation_id="sk-kaur-2026", coverage_start=dt.date(2026, 1, 1))  # fmt: skip
    viewer = make_user(role=Role.VIEWER, areas=(KAUR,))

    body = api(viewer).get("/api/v1/reports/coverage", {"area": KAUR, "year": 2026}).json()

    assert (body["total"]["allocated_idr"], body["total"]["committed_idr"]) == (10 * 201_600 + 1_000_000, 2 * 201_600)
    district = next(row for row in body["results"] if row["code"] == "17.04.01")
    assert (district["allocated_idr"], district["committed_idr"]) == (1_000_000, 0)  # the regency's counts in the total


def test_cover_about_to_end_without_renewal_is_listed_and_pulled(api, officer, operator, today):
    make_allocation()  # Jan-Dec 2026: ends 2026-12-31
    ending = EnrolmentFactory(id="ending", worker=WorkerFactory(id="w1"), status=Status.ACTIVE,
                              allocation_id="sk-kaur-2026", coverage_start=dt.date(2026, 1, 1))  # fmt: skip
    EnrolmentFactory(id="by-year", worker=WorkerFactory(id="w2"), status=Status.ACTIVE,
                     coverage_start=dt.date(2026, 1, 1))  # twelve months: to 2026-12-31  # fmt: skip
    EnrolmentFactory(id="later", worker=WorkerFactory(id="w3"), status=Status.ACTIVE,
                     coverage_start=dt.date(2026, 6, 1))  # to 2027-05-31  # fmt: skip
    renewed = EnrolmentFactory(id="renewed", worker=WorkerFactory(id="w4"), status=Status.ACTIVE,
                               coverage_start=dt.date(2026, 1, 1))  # fmt: skip
    EnrolmentFactory(id="next", worker=renewed.worker, status=Status.VERIFIED, budget_year=2027,
                     coverage_start=dt.date(2027, 1, 1), renewal_of=renewed)  # fmt: skip

    listed = api(operator).get("/api/v1/enrolments", {"expiring_within_days": 30}).json()["results"]
    none_soon = api(operator).get("/api/v1/enrolments", {"expiring_within_days": 10}).json()["results"]

    assert sorted(e["id"] for e in listed) == ["by-year", "ending"]
    assert none_soon == []
    pulled = api(officer).get("/api/v1/sync", {"last_pulled_at": "null", "schema_version": 1}).json()
    records = {
        r["id"]: r for r in pulled["changes"]["enrolments"]["created"] + pulled["changes"]["enrolments"]["updated"]
    }
    assert (records["ending"]["cover_ends"], records["ending"]["renewed"]) == ("2026-12-31", False)
    assert records["ending"]["allocation"] == "sk-kaur-2026"
    assert (records["renewed"]["cover_ends"], records["renewed"]["renewed"]) == ("2026-12-31", True)
    assert records["later"]["cover_ends"] == "2027-05-31"
    assert ending.id in records
