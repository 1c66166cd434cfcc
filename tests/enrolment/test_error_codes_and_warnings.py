"""Top-level error codes name the real problem; coverage outside the budget year is flagged."""

from __future__ import annotations

import pytest

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI
from tests.enrolment.test_enrolments_api import enrolment_body
from tests.factories import WorkerFactory, worker_payload
from villages.models import Role
from workers.models import Worker


@pytest.fixture
def officer(make_user):
    return make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))


def test_a_missing_nik_among_other_missing_fields_is_validation_failed(api, officer):
    body = {k: v for k, v in worker_payload(id="w-missing").items() if k not in ("nik", "full_name", "sex")}
    response = api(officer).post("/api/v1/workers", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    # Not the NIK: a person without one yet is registered as pending (API.md "Data quality").
    assert set(error["details"]["fields"]) == {"full_name", "sex"}
    assert Worker.objects.count() == 0


def test_a_missing_nik_alone_is_pending_and_a_wrong_one_nik_invalid(api, officer):
    missing = api(officer).post("/api/v1/workers", worker_payload(id="w-a", nik=""), format="json")
    assert (missing.status_code, missing.json()["nik_status"]) == (201, "pending")
    assert Worker.objects.values_list("nik_status", "needs_correction").get(id="w-a") == ("pending", False)
    wrong = api(officer).post("/api/v1/workers", worker_payload(id="w-b", nik="1704019999990001"), format="json")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "nik_invalid")


def test_coverage_starting_outside_the_budget_year_is_a_warning(api, officer):
    worker = WorkerFactory(id="w-1")
    client = api(officer)
    response = client.post(
        "/api/v1/enrolments", enrolment_body(worker.id, budget_year=2026, coverage_start="2027-01-01"), format="json"
    )
    assert response.status_code == 201, response.content[:300]
    assert "coverage_outside_budget_year" in response.json()["warnings"]
    assert Enrolment.objects.get(id="e-w-1").warnings == ["coverage_outside_budget_year"]

    fixed = client.patch("/api/v1/enrolments/e-w-1", {"coverage_start": "2026-12-01"}, format="json")
    assert fixed.status_code == 200
    assert "coverage_outside_budget_year" not in fixed.json()["warnings"]
    assert Enrolment.objects.get(id="e-w-1").warnings == []
