"""A renewal reaches the registry as a new record carrying `renews`: the participant number stays."""

from __future__ import annotations

import datetime as dt

from enrolment.funding.models import RenewalJob
from enrolment.funding.renewals.run import renewal_job_run
from enrolment.models import Enrolment, Status
from enrolment.registry import services
from tests.conftest import KAUR
from tests.funding.conftest import make_allocation
from tests.registry.conftest import make_verified


def test_the_renewed_enrolment_is_registered_under_the_same_number(registry, control, supervisor):
    (last_year,) = make_verified(1, birth_date=dt.date(1980, 1, 1))
    services.registry_batch_send(batch_id=str(services.registry_batch_claim().id))
    last_year.refresh_from_db()
    number = last_year.registry_number
    assert last_year.status == Status.ACTIVE
    Enrolment.objects.filter(id=last_year.id).update(budget_year=2025, coverage_start=dt.date(2025, 1, 1))
    make_allocation()
    job = RenewalJob.objects.create(
        area_id=KAUR, from_budget_year=2025, to_allocation_id="sk-kaur-2026", dry_run=False, created_by=supervisor
    )

    renewal_job_run(job_id=job.id)
    batch = services.registry_batch_claim()
    services.registry_batch_send(batch_id=str(batch.id))

    renewed = Enrolment.objects.get(renewal_of=last_year)
    assert (renewed.status, renewed.registry_number, renewed.renews) == (Status.ACTIVE, number, number)
    stats = control.get("/stats").json()
    assert (stats["participations"], stats["renewals"], stats["records"]["accepted"]) == (1, 1, 2)


def test_a_death_the_registry_reports_also_ends_the_renewal(registry, control, supervisor):
    from enrolment.registry import reconciliation

    (last_year,) = make_verified(1, birth_date=dt.date(1980, 1, 1))
    services.registry_batch_send(batch_id=str(services.registry_batch_claim().id))
    last_year.refresh_from_db()
    number = last_year.registry_number
    Enrolment.objects.filter(id=last_year.id).update(budget_year=2025, coverage_start=dt.date(2025, 1, 1))
    make_allocation()
    job = RenewalJob.objects.create(
        area_id=KAUR, from_budget_year=2025, to_allocation_id="sk-kaur-2026", dry_run=False, created_by=supervisor
    )
    renewal_job_run(job_id=job.id)
    renewed = Enrolment.objects.get(renewal_of=last_year)
    assert renewed.status == Status.VERIFIED
    control.post(
        "/changes", json=[{"participant_number": number, "status": "deceased", "effective_date": "2026-11-30"}]
    )

    reconciliation.registry_reconcile()

    statuses = dict(Enrolment.objects.values_list("id", "status"))
    assert statuses == {last_year.id: "ended", renewed.id: "ended"}
    renewed.refresh_from_db()
    assert renewed.status_reason == "registry: deceased, effective 2026-11-30"
    from enrolment.models import FundingAllocation

    assert FundingAllocation.objects.values_list("committed_workers", flat=True).get() == 0
