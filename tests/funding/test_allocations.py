"""Funding decrees: the seed's arithmetic, the commitment kept by the database, and a race for
the last seats that never overruns a decree."""

from __future__ import annotations

import threading

from django.db import connection

from config.errors import ServiceError
from enrolment.models import Enrolment, FundingAllocation, Status
from enrolment.services import enrolment_transition
from tests.conftest import GEDUNG_WANI, committed
from tests.factories import EnrolmentFactory, WorkerFactory
from tests.funding.conftest import make_allocation
from villages.audit import Actor
from villages.models import AuditEvent, Role

BENGKULU_2025 = {
    "id": "sk-bengkulu-2025",
    "funding_source": "apbd_provinsi",
    "area": "17",
    "budget_year": 2025,
    "decree_number": "SK Gubernur 500/2025",
    "decree_date": "2025-01-10",
    "period_start": "2025-01",
    "period_end": "2025-12",
    "quota_workers": 80_418,
    "amount_idr": 16_800 * 12 * 80_418,
}


def enrolment_body(worker_id, **overrides):
    return {
        "id": f"e-{worker_id}",
        "worker": worker_id,
        "programs": ["JKK", "JKM"],
        "coverage_start": "2026-01-01",
        "allocation": "sk-kaur-2026",
        "status": "submitted",
        **overrides,
    }


def test_the_seed_decree_is_sixteen_billion_and_commits_by_verified_enrolments(api, make_user):
    admin = make_user(role=Role.ADMIN, areas=())
    client = api(admin)

    created = client.post("/api/v1/funding/allocations", BENGKULU_2025, format="json")
    replay = client.post("/api/v1/funding/allocations", BENGKULU_2025, format="json")

    assert (created.status_code, replay.status_code) == (201, 200)
    body = created.json()
    assert body["amount_idr"] == 16_212_268_800
    assert (body["quota_workers"], body["enrolled_workers"], body["committed_idr"]) == (80_418, 0, 0)
    assert (body["period_start"], body["period_end"]) == ("2025-01", "2025-12")
    stored = FundingAllocation.objects.get(id="sk-bengkulu-2025")
    assert (stored.amount_idr, stored.quota_workers, stored.period_end.isoformat()) == (
        16_212_268_800,
        80_418,
        "2025-12-01",
    )
    assert AuditEvent.objects.filter(object_type="allocation", action="create").count() == 1
    other = client.post("/api/v1/funding/allocations", {**BENGKULU_2025, "quota_workers": 1}, format="json")
    assert other.status_code == 422
    assert FundingAllocation.objects.get(id="sk-bengkulu-2025").quota_workers == 80_418


def test_an_enrolment_naming_a_decree_takes_its_funder_and_commits_when_verified(api, officer, operator, supervisor):
    make_allocation()
    worker = WorkerFactory(id="w-siti")

    created = api(officer).post("/api/v1/enrolments", enrolment_body(worker.id), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["allocation"] == "sk-kaur-2026"
    assert (created.json()["funding_source"], created.json()["budget_year"]) == ("apbd_kabupaten", 2026)
    assert created.json()["funding_decree"] == "SK 100/2026"
    assert FundingAllocation.objects.get().committed_workers == 0  # a submission holds no seat

    verified = api(operator).post(f"/api/v1/enrolments/e-{worker.id}/verify", {}, format="json")

    assert verified.status_code == 200, verified.json()
    allocation = api(supervisor).get("/api/v1/funding/allocations/sk-kaur-2026").json()
    assert (allocation["enrolled_workers"], allocation["committed_idr"]) == (1, 201_600)
    assert (allocation["remaining_workers"], allocation["remaining_idr"]) == (9, 9 * 201_600)

    ended = api(supervisor).post(f"/api/v1/enrolments/e-{worker.id}/end", {"reason": "pindah"}, format="json")
    assert ended.status_code == 200
    stored = FundingAllocation.objects.get()
    assert (stored.committed_workers, stored.committed_idr) == (0, 0)


def test_a_decree_for_another_year_or_area_is_refused(api, officer):
    make_allocation(id="sk-other", area_id="17.01", decree_number="SK 1")
    worker = WorkerFactory(id="w-a")

    response = api(officer).post(
        "/api/v1/enrolments", enrolment_body(worker.id, allocation="sk-other", status="draft"), format="json"
    )

    assert response.status_code == 400
    assert "allocation" in response.json()["error"]["details"]["fields"]
    assert not Enrolment.objects.exists()


def test_verifying_past_the_quota_or_the_amount_is_409_and_the_others_go_through(api, operator):
    make_allocation(quota_workers=2, amount_idr=10**9)
    ids = []
    for n in range(3):
        enrolment = EnrolmentFactory(
            id=f"e{n}",
            worker=WorkerFactory(id=f"w{n}"),
            status=Status.SUBMITTED,
            allocation_id="sk-kaur-2026",
            coverage_start="2026-01-01",
        )
        ids.append(enrolment.id)

    response = api(operator).post("/api/v1/verification/verify", {"ids": ids}, format="json")

    assert response.status_code == 200, response.json()
    results = {r["id"]: r for r in response.json()["results"]}
    assert [results[i]["result"] for i in ids] == ["updated", "updated", "invalid"]
    assert results["e2"]["error"]["code"] == "allocation_exhausted"
    assert dict(Enrolment.objects.values_list("id", "status")) == {
        "e0": "verified",
        "e1": "verified",
        "e2": "submitted",
    }
    assert FundingAllocation.objects.values_list("committed_workers", "committed_idr").get() == (2, 2 * 201_600)
    assert AuditEvent.objects.filter(object_type="enrolment", action="status").count() == 2


def test_lowering_a_quota_below_the_commitment_is_refused(api, supervisor):
    make_allocation(quota_workers=3)
    for n in range(2):
        EnrolmentFactory(
            id=f"e{n}", worker=WorkerFactory(id=f"w{n}"), status=Status.VERIFIED, allocation_id="sk-kaur-2026"
        )

    refused = api(supervisor).patch("/api/v1/funding/allocations/sk-kaur-2026", {"quota_workers": 1}, format="json")
    allowed = api(supervisor).patch("/api/v1/funding/allocations/sk-kaur-2026", {"quota_workers": 2}, format="json")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "allocation_exhausted"
    assert allowed.status_code == 200
    assert FundingAllocation.objects.values_list("quota_workers", "committed_workers", "version").get() == (2, 2, 2)


def test_allocations_outside_the_callers_areas_are_404(api, make_user):
    make_allocation(id="sk-selatan", area_id="17.01", decree_number="SK 2")
    other = make_user(role=Role.SUPERVISOR, areas=("17.04",))

    assert api(other).get("/api/v1/funding/allocations/sk-selatan").status_code == 404
    assert api(other).get("/api/v1/funding/allocations").json()["results"] == []


@committed
def test_concurrent_verifications_never_overrun_a_decree(make_user):
    make_allocation(quota_workers=3, amount_idr=100 * 201_600)
    operator = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,))
    for n in range(8):
        EnrolmentFactory(
            id=f"race{n}",
            worker=WorkerFactory(id=f"wr{n}"),
            status=Status.SUBMITTED,
            allocation_id="sk-kaur-2026",
            coverage_start="2026-01-01",
        )
    barrier = threading.Barrier(8)
    results: dict[str, str] = {}

    def verify(enrolment_id: str) -> None:
        try:
            barrier.wait()
            enrolment_transition(
                actor=Actor(user=operator), enrolment_id=enrolment_id, action="verify", reason="", if_match=None
            )
            results[enrolment_id] = "verified"
        except ServiceError as error:
            results[enrolment_id] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=verify, args=(f"race{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results.values()) == ["allocation_exhausted"] * 5 + ["verified"] * 3
    assert Enrolment.objects.filter(status=Status.VERIFIED).count() == 3
    assert FundingAllocation.objects.values_list("committed_workers", "committed_idr").get() == (3, 3 * 201_600)
