"""Payments through the API: paid_through, the three-month lapse and reactivation, a decree's
payment, and the hand-over to self-payment with the PP 50/2025 discount."""

from __future__ import annotations

import datetime as dt

from enrolment.funding.models import Payment, PaymentItem, RegistryMessage
from enrolment.funding.payments import enrolments_lapse
from enrolment.models import Enrolment, FundingAllocation, Status
from tests.factories import EnrolmentFactory, WorkerFactory
from tests.funding.conftest import make_allocation
from villages.models import AuditEvent


def active(n, **kwargs):
    return EnrolmentFactory(
        id=f"e{n}", worker=WorkerFactory(id=f"w{n}"), status=Status.ACTIVE, registry_number=f"9000000000{n}",
        registry_status="active", coverage_start=dt.date(2026, 1, 1), **kwargs,
    )  # fmt: skip


def pay(client, reference, *, period_from, period_to, **body):
    return client.post(
        "/api/v1/payments",
        {"reference": reference, "period_from": period_from, "period_to": period_to, "amount_idr": 16_800,
         "paid_at": "2026-11-30T10:00:00+07:00", **body},
        format="json",
    )  # fmt: skip


def test_three_unpaid_months_lapse_and_a_payment_reactivates(api, operator, today):
    active(1)
    active(2, paid_through=dt.date(2026, 9, 1))
    client = api(operator)

    first = pay(client, "TRX-1", period_from="2026-01", period_to="2026-08", enrolments=["e1"])
    replay = pay(client, "TRX-1", period_from="2026-01", period_to="2026-08", enrolments=["e1"])
    reused = pay(client, "TRX-1", period_from="2026-01", period_to="2026-09", enrolments=["e1"])

    assert (first.status_code, replay.status_code, reused.status_code) == (201, 200, 422)
    assert first.json()["enrolments_paid"] == 1
    assert Enrolment.objects.get(id="e1").paid_through == dt.date(2026, 8, 1)
    assert Payment.objects.count() == 1
    assert PaymentItem.objects.count() == 1

    assert enrolments_lapse(today=today) == 1
    assert enrolments_lapse(today=today) == 0  # idempotent

    shown = client.get("/api/v1/enrolments/e1").json()
    assert (shown["registry_status"], shown["paid_through"], shown["status"]) == ("inactive", "2026-08", "active")
    assert Enrolment.objects.get(id="e2").registry_status == "active"  # September: within three months
    lapsed = AuditEvent.objects.get(object_type="enrolment", object_id="e1", action="update", actor__isnull=True)
    assert lapsed.changes == {"registry_status": ["active", "inactive"]}

    again = pay(client, "TRX-2", period_from="2026-09", period_to="2026-12", enrolments=["e1"])

    assert again.status_code == 201
    e1 = Enrolment.objects.get(id="e1")
    assert (e1.registry_status, e1.paid_through) == ("active", dt.date(2026, 12, 1))
    assert list(RegistryMessage.objects.order_by("created_at").values_list("kind", "dedupe_key")) == [
        ("payment", "payment:TRX-1"),
        ("payment", "payment:TRX-2"),
    ]
    assert '"participant_number":"90000000001"' in RegistryMessage.objects.get(dedupe_key="payment:TRX-2").body


def test_a_decree_pays_all_its_active_enrolments(api, supervisor):
    make_allocation()
    for n in range(3):
        active(n, allocation_id="sk-kaur-2026")
    active(7)  # another decree's

    response = pay(api(supervisor), "SP2D-77", period_from="2026-01", period_to="2026-06", allocation="sk-kaur-2026")

    assert response.status_code == 201, response.json()
    assert response.json()["enrolments_paid"] == 3
    assert dict(Enrolment.objects.values_list("id", "paid_through")) == {
        "e0": dt.date(2026, 6, 1), "e1": dt.date(2026, 6, 1), "e2": dt.date(2026, 6, 1), "e7": None,
    }  # fmt: skip


def test_paying_for_someone_outside_ones_villages_changes_nothing(api, operator):
    EnrolmentFactory(id="far", worker=WorkerFactory(id="wf", village_id="17.01.01.2001"), status=Status.ACTIVE)

    response = pay(api(operator), "TRX-9", period_from="2026-01", period_to="2026-02", enrolments=["far"])

    assert response.status_code == 400
    assert not Payment.objects.exists()
    assert Enrolment.objects.get(id="far").paid_through is None


def test_handing_over_to_self_payment_frees_the_seat_and_applies_the_discount(api, operator):
    make_allocation()
    active(1, allocation_id="sk-kaur-2026")
    assert FundingAllocation.objects.get().committed_workers == 1

    response = api(operator).post("/api/v1/enrolments/e1/self-payment", {"from_month": "2026-07"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["funding_source"], body["allocation"], body["monthly_contribution"]) == ("mandiri", None, 8_400)
    stored = Enrolment.objects.get(id="e1")
    assert (stored.funding_source_id, stored.monthly_contribution, stored.version) == ("mandiri", 8_400, 2)
    assert FundingAllocation.objects.values_list("committed_workers", "committed_idr").get() == (0, 0)
    assert AuditEvent.objects.filter(object_type="enrolment", object_id="e1", action="update").count() == 1

    twice = api(operator).post("/api/v1/enrolments/e1/self-payment", {"from_month": "2026-07"}, format="json")
    assert twice.status_code == 400  # already self-paid
