"""Bad input to the budget year's endpoints answers 400 (or 404 for a bad cursor) in the error
envelope, never a 500 (cases schemathesis found)."""

from __future__ import annotations

from tests.factories import EnrolmentFactory, WorkerFactory
from tests.funding.conftest import make_allocation


def test_a_claims_list_with_an_undecodable_cursor_or_a_bad_area_is_refused(api, supervisor):
    client = api(supervisor)
    cursor = client.get("/api/v1/claims", {"status": "filed", "cursor": "\x8f\x00zz", "page_size": 1})
    area = client.get("/api/v1/claims", {"area": "G*\rK\x1f"})
    assert (cursor.status_code, cursor.json()["error"]["code"]) == (404, "not_found")
    assert (area.status_code, area.json()["error"]["code"]) == (400, "validation_failed")


def test_months_of_year_zero_are_refused(api, operator, supervisor):
    EnrolmentFactory(id="e1", worker=WorkerFactory(id="w1"))
    self_payment = api(operator).post("/api/v1/enrolments/e1/self-payment", {"from_month": "0000-01"}, format="json")
    payment = api(operator).post(
        "/api/v1/payments",
        {"reference": "T-0", "period_from": "0000-01", "period_to": "0000-01", "amount_idr": 0,
         "paid_at": "2000-01-01T00:00:00Z", "enrolments": ["e1"]},
        format="json",
    )  # fmt: skip
    assert self_payment.status_code == 400, self_payment.content
    assert payment.status_code == 400, payment.content
    assert self_payment.json()["error"]["details"]["fields"]["from_month"]
    assert payment.json()["error"]["details"]["fields"]["period_from"]


def test_a_decree_of_nothing_in_2000_is_refused_or_stored_but_never_a_500(api, supervisor):
    make_allocation()
    response = api(supervisor).post(
        "/api/v1/funding/allocations",
        {"id": "sk-2000", "funding_source": "apbd_kabupaten", "area": "17", "budget_year": 2000,
         "decree_number": "SK 1", "decree_date": "2000-01-01", "period_start": "0000-01", "period_end": "0000-01",
         "quota_workers": 0, "amount_idr": 0},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400, response.content
