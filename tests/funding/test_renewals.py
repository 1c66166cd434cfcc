"""Renewals: the seed's arithmetic (71,935 participants into a smaller decree), every reason a
person is left out, and the same renewal twice creating nothing."""

from __future__ import annotations

import datetime as dt

from enrolment.funding.models import DeathReport, RenewalJob, RenewalRow
from enrolment.funding.renewals.run import renewal_job_run
from enrolment.models import Enrolment, FundingAllocation, Status
from tests.conftest import KAUR, OTHER_REGENCY_VILLAGE
from tests.factories import EnrolmentFactory, WorkerFactory
from tests.funding.conftest import copy_participants, make_allocation
from villages.audit import Actor
from villages.models import AuditEvent

YEAR = 16_800 * 12


def renewal(client, *, dry_run, allocation="sk-kaur-2026"):
    response = client.post(
        "/api/v1/renewals",
        {"area": KAUR, "from_budget_year": 2025, "to_allocation": allocation, "dry_run": dry_run},
        format="json",
    )
    assert response.status_code == 202, response.json()
    renewal_job_run(job_id=response.json()["id"])  # what the task does
    return client.get(f"/api/v1/renewals/{response.json()['id']}").json()


def test_a_smaller_decree_leaves_out_exactly_the_excess_in_the_documented_order(api, supervisor, settings):
    settings.RENEWAL_CHUNK_SIZE = 20_000
    copy_participants(71_935)
    make_allocation(quota_workers=70_000, amount_idr=80_418 * YEAR)
    client = api(supervisor)

    dry = renewal(client, dry_run=True)

    assert dry["status"] == "completed"
    assert (dry["total_rows"], dry["carried_over"], dry["left_out"]) == (71_935, 70_000, 1_935)
    assert dry["left_out_by_reason"] == {"over_quota": 1_935}
    assert dry["cost_idr"] == 70_000 * YEAR == 14_112_000_000
    assert dry["order"] == "earliest_enrolment"
    left_out = RenewalRow.objects.filter(job_id=dry["id"], outcome="left_out")
    assert sorted(left_out.values_list("enrolment_id", flat=True)) == [f"r{n:05d}" for n in range(70_000, 71_935)]
    assert Enrolment.objects.filter(budget_year=2026).count() == 0  # a dry run creates nothing

    real = renewal(client, dry_run=False)

    assert (real["status"], real["carried_over"], real["created"]) == ("completed", 70_000, 70_000)
    renewed = Enrolment.objects.filter(budget_year=2026)
    assert renewed.count() == 70_000
    assert set(renewed.values_list("status", "allocation_id", "coverage_start", "monthly_contribution")) == {
        ("verified", "sk-kaur-2026", dt.date(2026, 1, 1), 16_800)
    }
    sample = Enrolment.objects.get(renewal_of_id="r00042")
    assert (sample.renews, sample.worker_id, sample.funding_decree) == ("90000000042", "rw00042", "SK 100/2026")
    assert not Enrolment.objects.filter(renewal_of_id="r70000").exists()
    assert FundingAllocation.objects.values_list("committed_workers", "committed_idr").get() == (70_000, 70_000 * YEAR)
    assert AuditEvent.objects.filter(object_type="enrolment", action="create").count() == 70_000
    assert Enrolment.objects.get(id="r00042").version == 2  # touched: devices pull it again

    again = renewal(client, dry_run=False)

    assert (again["status"], again["carried_over"], again["created"]) == ("completed", 70_000, 0)
    assert again["left_out_by_reason"] == {"over_quota": 1_935}
    assert Enrolment.objects.filter(budget_year=2026).count() == 70_000
    assert FundingAllocation.objects.values_list("committed_workers", "committed_idr").get() == (70_000, 70_000 * YEAR)
    assert AuditEvent.objects.filter(object_type="enrolment", action="create").count() == 70_000


def person(n, *, status=Status.ACTIVE, born=dt.date(1980, 1, 1), village="17.04.01.2001", **enrolment):
    worker = WorkerFactory(id=f"w{n}", birth_date=born, village_id=village)
    return EnrolmentFactory(
        id=f"e{n}", worker=worker, status=status, budget_year=2025, coverage_start=dt.date(2025, 1, n),
        registry_number=f"9000000000{n}", **enrolment,
    )  # fmt: skip


def test_every_reason_to_leave_someone_out(api, supervisor):
    make_allocation(quota_workers=10, amount_idr=2 * YEAR + YEAR // 2)
    person(1)  # carried
    person(2, status=Status.ENDED)
    dead = person(3, status=Status.ENDED)
    DeathReport.objects.create(
        worker_id=dead.worker_id, date_of_death=dt.date(2025, 9, 1), cause="other", place="rumah"
    )
    person(4, village=OTHER_REGENCY_VILLAGE)  # lives elsewhere now
    last_year = FundingAllocation.objects.create(
        id="sk-2025", funding_source_id="apbd_kabupaten", area_id=KAUR, budget_year=2025, decree_number="SK 2025",
        decree_date=dt.date(2024, 12, 1), period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 1),
        quota_workers=100, amount_idr=100 * YEAR,
    )  # fmt: skip
    Enrolment.objects.filter(id="e4").update(allocation=last_year)
    person(5, born=dt.date(1960, 1, 1))  # 66 on 2026-01-01
    person(6)  # carried: the second seat's money
    person(7)  # the third would pass the amount
    person(8)  # and so is everyone after
    person(9, funding_source_id="mandiri")  # another funder: not this decree's to renew

    job = renewal(api(supervisor), dry_run=True)

    rows = dict(RenewalRow.objects.filter(job_id=job["id"]).values_list("enrolment_id", "reason"))
    assert rows == {
        "e1": "", "e2": "ended", "e3": "deceased", "e4": "moved_out", "e5": "over_age", "e6": "", "e7": "over_budget",
        "e8": "over_budget",
    }  # fmt: skip
    assert job["left_out_by_reason"] == {"deceased": 1, "ended": 1, "moved_out": 1, "over_age": 1, "over_budget": 2}
    assert (job["carried_over"], job["cost_idr"]) == (2, 2 * YEAR)
    listed = api(supervisor).get(f"/api/v1/renewals/{job['id']}/rows?reason=over_budget").json()["results"]
    assert [r["enrolment"] for r in listed] == ["e7", "e8"]


def test_renewing_into_an_earlier_year_or_outside_ones_area_is_refused(api, supervisor, make_user):
    make_allocation(id="sk-2024", budget_year=2024, decree_number="SK 2024", period_start=dt.date(2024, 1, 1),
                    period_end=dt.date(2024, 12, 1))  # fmt: skip
    client = api(supervisor)

    earlier = client.post(
        "/api/v1/renewals", {"area": KAUR, "from_budget_year": 2025, "to_allocation": "sk-2024"}, format="json"
    )
    outside = client.post(
        "/api/v1/renewals", {"area": "17.01", "from_budget_year": 2025, "to_allocation": "sk-2024"}, format="json"
    )

    assert earlier.status_code == 400
    assert outside.status_code == 404
    assert not RenewalJob.objects.exists()


def test_a_real_run_that_died_after_a_chunk_resumes_where_it_stopped(supervisor):
    from enrolment.funding.renewals import jobs, plan, run

    copy_participants(25)
    make_allocation(quota_workers=20, amount_idr=100 * YEAR)
    job = RenewalJob.objects.create(
        area_id=KAUR, from_budget_year=2025, to_allocation_id="sk-kaur-2026", dry_run=False, created_by=supervisor
    )
    claimed = jobs.claim(job.id)
    assert claimed is not None
    RenewalJob.objects.filter(id=job.id).update(status="running")
    plan.plan(claimed)
    claimed.refresh_from_db()
    run.run_chunk(claimed, Actor(user=supervisor), 10)  # then the worker dies
    RenewalJob.objects.filter(id=job.id).update(lease_until=None)  # its lease runs out

    assert run.renewals_resume() == 1

    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.carried_count) == ("completed", 25, 20, 20)
    assert job.left_out_by_reason == {"over_quota": 5}
    assert Enrolment.objects.filter(budget_year=2026).count() == 20
    assert AuditEvent.objects.filter(object_type="enrolment", action="create").count() == 20
