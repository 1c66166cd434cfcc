"""Shapes on the wire for the budget year (plain functions out; DRF serializers in and for the schema)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.formats import iso_date, iso_datetime, iso_month
from enrolment.funding.models import (
    Claim,
    ClaimProgram,
    ClaimStatus,
    DeathCause,
    JobStatus,
    LeftOutReason,
    Payment,
    RenewalJob,
    RenewalOutcome,
    RenewalRow,
)
from enrolment.models import FundingAllocation
from villages.audit import mask_nik
from workers.serializers import HeirSerializer

# Years 1900-2199: a budget year's months, never year 0 (which no date can hold).
MONTH = re.compile(r"^((?:19|20|21)[0-9]{2})-(0[1-9]|1[0-2])$")


@extend_schema_field({"type": "string", "pattern": "^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$", "example": "2026-01"})
class MonthField(serializers.Field):
    """YYYY-MM on the wire, the first day of that month inside."""

    default_error_messages = {"invalid": _("Use a month as YYYY-MM.")}

    def to_internal_value(self, data: Any) -> dt.date:
        match = MONTH.match(data) if isinstance(data, str) else None
        if match is None:
            self.fail("invalid")
        assert match is not None
        return dt.date(int(match.group(1)), int(match.group(2)), 1)

    def to_representation(self, value: dt.date) -> str | None:
        return iso_month(value)


def allocation_representation(allocation: FundingAllocation) -> dict[str, Any]:
    return {
        "id": allocation.id,
        "funding_source": allocation.funding_source_id,
        "area": allocation.area_id,
        "budget_year": allocation.budget_year,
        "decree_number": allocation.decree_number,
        "decree_date": iso_date(allocation.decree_date),
        "period_start": iso_month(allocation.period_start),
        "period_end": iso_month(allocation.period_end),
        "quota_workers": allocation.quota_workers,
        "amount_idr": allocation.amount_idr,
        "committed_idr": allocation.committed_idr,
        "enrolled_workers": allocation.committed_workers,
        "remaining_workers": allocation.quota_workers - allocation.committed_workers,
        "remaining_idr": allocation.amount_idr - allocation.committed_idr,
        "version": allocation.version,
        "created_at": iso_datetime(allocation.created_at),
        "updated_at": iso_datetime(allocation.updated_at),
    }


class AllocationInputSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[A-Za-z0-9_-]{1,64}$", required=False)
    funding_source = serializers.CharField(max_length=32)
    area = serializers.CharField(
        max_length=13, help_text="The area the decree funds (province, regency, district or village)."
    )
    budget_year = serializers.IntegerField(min_value=2000, max_value=2100)
    decree_number = serializers.CharField(max_length=200)
    decree_date = serializers.DateField()
    period_start = MonthField(help_text="YYYY-MM, the first month paid for.")
    period_end = MonthField(help_text="YYYY-MM, the last month paid for.")
    quota_workers = serializers.IntegerField(min_value=0, max_value=2_000_000_000)
    amount_idr = serializers.IntegerField(min_value=0, max_value=10**15)


class AllocationPatchSerializer(AllocationInputSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


class AllocationSerializer(serializers.Serializer):
    id = serializers.CharField()
    funding_source = serializers.CharField()
    area = serializers.CharField()
    budget_year = serializers.IntegerField()
    decree_number = serializers.CharField()
    decree_date = serializers.DateField()
    period_start = serializers.CharField(help_text="YYYY-MM")
    period_end = serializers.CharField(help_text="YYYY-MM")
    quota_workers = serializers.IntegerField()
    amount_idr = serializers.IntegerField()
    committed_idr = serializers.IntegerField(
        help_text="IDR committed: the annual amounts of its verified, queued and active enrolments."
    )
    enrolled_workers = serializers.IntegerField(
        help_text="People committed: its verified, queued and active enrolments."
    )
    remaining_workers = serializers.IntegerField()
    remaining_idr = serializers.IntegerField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, instance: FundingAllocation) -> dict[str, Any]:
        return allocation_representation(instance)


class AllocationFilterSerializer(serializers.Serializer):
    area = serializers.CharField(required=False, max_length=13)
    budget_year = serializers.IntegerField(required=False, min_value=2000, max_value=2100)
    funding_source = serializers.CharField(required=False, max_length=32)


def renewal_representation(job: RenewalJob) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "area": job.area_id,
        "from_budget_year": job.from_budget_year,
        "to_allocation": job.to_allocation_id,
        "dry_run": job.dry_run,
        "order": job.order,
        "status": job.status,
        "error": job.error or None,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "carried_over": job.carried_count,
        "left_out": job.left_out_count,
        "left_out_by_reason": dict(job.left_out_by_reason),
        "created": job.created_count,
        "cost_idr": job.cost_idr,
        "created_at": iso_datetime(job.created_at),
        "started_at": iso_datetime(job.started_at),
        "finished_at": iso_datetime(job.finished_at),
    }


def renewal_row_representation(row: RenewalRow) -> dict[str, Any]:
    return {
        "position": row.position,
        "enrolment": row.enrolment_id,
        "worker": row.worker_id,
        "village": row.village_id,
        "participant_number": row.participant_number or None,
        "outcome": row.outcome,
        "reason": row.reason or None,
        "monthly_idr": row.monthly_idr,
        "cost_idr": row.cost_idr,
        "new_enrolment": row.new_enrolment_id or None,
        "already_renewed": row.already_renewed,
    }


class RenewalInputSerializer(serializers.Serializer):
    area = serializers.CharField(max_length=13)
    from_budget_year = serializers.IntegerField(min_value=2000, max_value=2100)
    to_allocation = serializers.CharField(max_length=64)
    dry_run = serializers.BooleanField(
        default=True, help_text="true (the default): list the decisions, create nothing."
    )


class RenewalSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    area = serializers.CharField()
    from_budget_year = serializers.IntegerField()
    to_allocation = serializers.CharField()
    dry_run = serializers.BooleanField()
    order = serializers.CharField(
        help_text="The order seats are given in: `earliest_enrolment` (last year's coverage start, then creation, then id)."
    )
    status = serializers.ChoiceField(choices=JobStatus.choices)
    error = serializers.CharField(allow_null=True)
    total_rows = serializers.IntegerField()
    processed_rows = serializers.IntegerField()
    carried_over = serializers.IntegerField()
    left_out = serializers.IntegerField()
    left_out_by_reason = serializers.DictField(child=serializers.IntegerField())
    created = serializers.IntegerField(help_text="New enrolments this job made (0 when all were renewed before).")
    cost_idr = serializers.IntegerField(help_text="Twelve months of the carried-over people at the new year's rates.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: RenewalJob) -> dict[str, Any]:
        return renewal_representation(instance)


class RenewalRowSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    enrolment = serializers.CharField()
    worker = serializers.CharField()
    village = serializers.CharField()
    participant_number = serializers.CharField(allow_null=True)
    outcome = serializers.ChoiceField(choices=RenewalOutcome.choices)
    reason = serializers.ChoiceField(choices=LeftOutReason.choices, allow_null=True)
    monthly_idr = serializers.IntegerField()
    cost_idr = serializers.IntegerField()
    new_enrolment = serializers.CharField(allow_null=True)
    already_renewed = serializers.BooleanField()

    def to_representation(self, instance: RenewalRow) -> dict[str, Any]:
        return renewal_row_representation(instance)


class RenewalRowFilterSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=RenewalOutcome.choices, required=False)
    reason = serializers.ChoiceField(choices=LeftOutReason.choices, required=False)


def claim_representation(claim: Claim) -> dict[str, Any]:
    death = claim.death
    return {
        "id": claim.id,
        "worker": claim.worker_id,
        "village": claim.village_id,
        "enrolment": claim.enrolment_id,
        "program": claim.program,
        "covered": claim.covered,
        "reason": claim.reason or None,
        "status": claim.status,
        "checklist": [dict(item) for item in claim.checklist],
        # Heirs' NIKs masked, as in every representation that is not the worker's own record.
        "heirs": [{**heir, "nik": mask_nik(heir.get("nik"))} for heir in claim.heirs if isinstance(heir, dict)],
        "amount_idr": claim.amount_idr,
        "notes": claim.notes,
        "death": {
            "date_of_death": iso_date(death.date_of_death),
            "cause": death.cause,
            "place": death.place,
            "reported_by_name": death.reported_by_name or None,
        },
        "version": claim.version,
        "status_changed_at": iso_datetime(claim.status_changed_at),
        "created_at": iso_datetime(claim.created_at),
        "updated_at": iso_datetime(claim.updated_at),
    }


class DeathInputSerializer(serializers.Serializer):
    date_of_death = serializers.DateField()
    cause = serializers.ChoiceField(choices=DeathCause.choices)
    place = serializers.CharField(max_length=200)
    reported_by_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ChecklistItemSerializer(serializers.Serializer):
    document = serializers.CharField(max_length=40)
    received = serializers.BooleanField()


class DeathSerializer(serializers.Serializer):
    date_of_death = serializers.DateField()
    cause = serializers.ChoiceField(choices=DeathCause.choices)
    place = serializers.CharField()
    reported_by_name = serializers.CharField(allow_null=True)


class ClaimSerializer(serializers.Serializer):
    id = serializers.CharField()
    worker = serializers.CharField()
    village = serializers.CharField()
    enrolment = serializers.CharField(allow_null=True, help_text="The enrolment that covered the day of death.")
    program = serializers.ChoiceField(choices=ClaimProgram.choices)
    covered = serializers.BooleanField()
    reason = serializers.CharField(
        allow_null=True,
        help_text="Why not covered: not_registered, not_yet_covered, coverage_ended, inactive, unpaid.",
    )
    status = serializers.ChoiceField(choices=ClaimStatus.choices)
    checklist = ChecklistItemSerializer(many=True)
    heirs = HeirSerializer(many=True)
    amount_idr = serializers.IntegerField(help_text="JKM: Rp 42,000,000 to the heirs; JKK: assessed by BPJSTK (0).")
    notes = serializers.CharField()
    death = DeathSerializer()
    version = serializers.IntegerField()
    status_changed_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, instance: Claim) -> dict[str, Any]:
        return claim_representation(instance)


class ClaimPatchSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ClaimStatus.choices, required=False)
    checklist = ChecklistItemSerializer(many=True, required=False)
    heirs = HeirSerializer(many=True, required=False)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ClaimFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ClaimStatus.choices, required=False)
    area = serializers.RegexField(r"^[0-9]{2}(\.[0-9]{2}){0,2}(\.[0-9]{4})?$", max_length=13, required=False)
    waiting_days = serializers.IntegerField(
        min_value=0, required=False, help_text="Claims still waiting for documents at least this many days."
    )


def payment_representation(payment: Payment) -> dict[str, Any]:
    return {
        "id": str(payment.id),
        "reference": payment.reference,
        "allocation": payment.allocation_id,
        "period_from": iso_month(payment.period_from),
        "period_to": iso_month(payment.period_to),
        "amount_idr": payment.amount_idr,
        "paid_at": iso_datetime(payment.paid_at),
        "enrolments_paid": payment.enrolment_count,
        "created_at": iso_datetime(payment.created_at),
    }


class PaymentInputSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=100, help_text="The transfer or receipt number: the idempotency key.")
    allocation = serializers.CharField(
        max_length=64, required=False, help_text="Pays every active enrolment of the decree."
    )
    enrolments = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=100_000,
        help_text="And/or these enrolments.",
    )
    period_from = MonthField()
    period_to = MonthField()
    amount_idr = serializers.IntegerField(min_value=0, max_value=10**15)
    paid_at = serializers.DateTimeField()


class PaymentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField()
    allocation = serializers.CharField(allow_null=True)
    period_from = serializers.CharField(help_text="YYYY-MM")
    period_to = serializers.CharField(help_text="YYYY-MM")
    amount_idr = serializers.IntegerField()
    paid_at = serializers.DateTimeField()
    enrolments_paid = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    def to_representation(self, instance: Payment) -> dict[str, Any]:
        return payment_representation(instance)


class SelfPaymentInputSerializer(serializers.Serializer):
    from_month = MonthField(help_text="YYYY-MM: the first month the person pays for themself.")
