"""The running counts PostgreSQL keeps for the coverage report agree with the tables, whatever
writes them: services, bulk saves, status moves, soft deletes, moves, raw SQL, COPY."""

import datetime as dt

from django.db import connection

from enrolment.models import Enrolment
from enrolment.reports.coverage import coverage_report
from enrolment.reports.models import (
    CoverageEnrolmentCount,
    CoverageEnrolmentProvinceCount,
    CoverageWorkerCount,
    CoverageWorkerProvinceCount,
)
from enrolment.reports.services import coverage_compact
from tests.conftest import GEDUNG_WANI, VILLAGE_B
from tests.factories import EnrolmentFactory, WorkerFactory, worker_payload
from tests.panel.conftest import copy_people
from villages.models import Role
from workers.models import Worker


def both(user, **query):
    counts = coverage_report(user=user, source="counts", **query)
    tables = coverage_report(user=user, source="tables", **query)
    counts.pop("generated_at")
    tables.pop("generated_at")
    if query.get("area") is None and query.get("group_by") is None:  # the country by province
        provinces = coverage_report(user=user, source="provinces", **query)
        provinces.pop("generated_at")
        assert provinces == tables
    return counts, tables


def test_counts_follow_every_kind_of_write(api, make_user, operator):
    admin = make_user(role=Role.ADMIN, areas=())
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))
    client = api(officer)
    # Through the API: registrations, submitted.
    for n in range(4):
        body = {
            "worker": worker_payload(full_name=f"Warga {'ABCD'[n]}"),
            "enrolment": {
                "id": f"reg-{n}",
                "funding_source": "apbdes",
                "coverage_start": "2026-12-01",
                "status": "submitted",
            },
        }
        assert client.post("/api/v1/registrations", body, format="json").status_code == 201
    # Bulk decisions, a rejection, a soft delete of a worker with a draft enrolment.
    api(operator).post("/api/v1/verification/verify", {"ids": ["reg-0", "reg-1"]}, format="json")
    api(operator).post("/api/v1/verification/reject", {"ids": ["reg-2"], "reason": "KTP buram"}, format="json")
    draft = EnrolmentFactory(status="draft", funding_source_id="csr")
    assert client.delete(f"/api/v1/workers/{draft.worker_id}").status_code == 204
    # A worker (and its live enrolment) moving village; a funding change on a draft.
    moving = EnrolmentFactory(status="submitted", worker=WorkerFactory(occupation_id="petani"))
    mover = api(make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI, VILLAGE_B)))
    assert mover.patch(f"/api/v1/workers/{moving.worker_id}", {"village": VILLAGE_B}, format="json").status_code == 200
    other = EnrolmentFactory(status="draft")
    assert (
        client.patch(f"/api/v1/enrolments/{other.id}", {"funding_source": "mandiri"}, format="json").status_code == 200
    )
    # Raw SQL and ORM updates the services never make, and COPY.
    Enrolment.objects.filter(id="reg-3").update(needs_correction=True)
    Enrolment.objects.filter(id="reg-1").update(status="active", registry_number="12345678901")
    EnrolmentFactory(status="active", budget_year=2025)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM enrolment_enrolment WHERE id = %s", [other.id])
    Worker.objects.filter(id=moving.worker_id).update(needs_correction=True, nik="1")
    copy_people(
        {"id": f"c{n}", "village": [GEDUNG_WANI, VILLAGE_B, "17.01.01.2001"][n % 3], "status": "active"}
        for n in range(30)
    )

    queries = [
        {"area": "17", "year": 2026, "group_by": "village"},
        {"area": "17.04", "year": 2026, "group_by": "district"},
        {"area": GEDUNG_WANI, "year": 2026, "group_by": "village"},
        {"area": "17", "year": 2025, "group_by": "regency"},
        {"area": None, "year": 2026, "group_by": None},  # the country by province (and its province counts)
        {"area": None, "year": 2026, "group_by": "regency"},
    ]
    for query in queries:
        counts, tables = both(admin, **query)
        assert counts == tables
    wani = both(admin, area=GEDUNG_WANI, year=2026, group_by="village")[0]["total"]
    # reg-0 verified, reg-1 active, reg-2 rejected, 10 copied active; reg-3 flagged, the draft
    # deleted with its worker, the mover gone to the next village, `other` deleted, 2025 elsewhere.
    assert wani["by_status"] == {"active": 11, "rejected": 1, "verified": 1}
    assert (wani["live_enrolments"], wani["active_enrolments"]) == (12, 11)
    rows_before = CoverageEnrolmentCount.objects.count() + CoverageWorkerCount.objects.count()

    coverage_compact()

    rows_after = CoverageEnrolmentCount.objects.count() + CoverageWorkerCount.objects.count()
    assert rows_after < rows_before
    for query in queries:
        counts, tables = both(admin, **query)
        assert counts == tables
    assert not CoverageEnrolmentCount.objects.filter(n=0, monthly=0, annual=0).exists()


def test_compaction_sums_to_the_same_and_drops_what_cancels(db):
    enrolment = EnrolmentFactory(status="submitted")
    Enrolment.objects.filter(pk=enrolment.pk).update(status="verified")
    Enrolment.objects.filter(pk=enrolment.pk).update(deleted_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert list(CoverageEnrolmentCount.objects.order_by("id").values_list("status", "n")) == [
        ("submitted", 1),
        ("submitted", -1),
        ("verified", 1),
        ("verified", -1),
    ]

    coverage_compact()

    assert CoverageEnrolmentCount.objects.count() == 0
    assert list(CoverageWorkerCount.objects.values_list("village", "occupation", "n")) == [(GEDUNG_WANI, "nelayan", 1)]
    assert CoverageEnrolmentProvinceCount.objects.count() == 0
    assert list(CoverageWorkerProvinceCount.objects.values_list("province", "occupation", "n")) == [
        ("17", "nelayan", 1)
    ]
