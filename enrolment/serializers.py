"""Enrolment shapes on the wire (plain functions for output; DRF serializers describe them)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.errors import envelope
from config.formats import iso_date, iso_datetime, iso_month
from enrolment import selectors
from enrolment.models import PAYMENT_PERIODS, Enrolment, Program, RegistryStatus, Segment, Status
from enrolment.services import EnrolmentOutcome
from villages.audit import mask_nik
from workers.serializers import BulkResultSerializer, WorkerInputSerializer, WorkerSerializer


def enrolment_representation(enrolment: Enrolment) -> dict[str, Any]:
    return {
        "id": enrolment.id,
        "worker": enrolment.worker_id,
        "village": enrolment.village_id,
        "segment": enrolment.segment,
        "programs": list(enrolment.programs),
        "funding_source": enrolment.funding_source_id,
        "budget_year": enrolment.budget_year,
        "funding_decree": enrolment.funding_decree,
        "coverage_start": iso_date(enrolment.coverage_start),
        "payment_period_months": enrolment.payment_period_months,
        "monthly_contribution": enrolment.monthly_contribution,
        "annual_contribution": enrolment.annual_contribution,
        "contribution_detail": enrolment.contribution_detail,
        "status": enrolment.status,
        "status_reason": enrolment.status_reason,
        "status_changed_at": iso_datetime(enrolment.status_changed_at),
        "registry_number": enrolment.registry_number or None,
        "synced_at": iso_datetime(enrolment.synced_at),
        "registry_status": enrolment.registry_status or None,
        "registry_status_date": iso_date(enrolment.registry_status_date),
        "allocation": enrolment.allocation_id,
        "paid_through": iso_month(enrolment.paid_through),
        "renews": enrolment.renews or None,
        "renewal_of": enrolment.renewal_of_id,
        "warnings": list(enrolment.warnings),
        "needs_correction": enrolment.needs_correction,
        "errors": dict(enrolment.errors),
        "version": enrolment.version,
        "created_at": iso_datetime(enrolment.created_at),
        "updated_at": iso_datetime(enrolment.updated_at),
        "deleted": enrolment.deleted_at is not None,
    }


def enrolment_outcome_representation(outcome: EnrolmentOutcome) -> dict[str, Any]:
    body: dict[str, Any] = {"id": outcome.id, "result": outcome.result.value}
    if outcome.error is not None:
        body["error"] = envelope(outcome.error.code, outcome.error.message, outcome.error.details)["error"]
    elif outcome.enrolment is not None:
        body["version"] = outcome.enrolment.version
        body["status"] = outcome.enrolment.status
        body["monthly_contribution"] = outcome.enrolment.monthly_contribution
        body["needs_correction"] = outcome.enrolment.needs_correction
    return body


def queue_item_representation(enrolment: Enrolment) -> dict[str, Any]:
    """What an operator needs to decide on one enrolment, NIK masked (a list)."""
    worker = enrolment.worker
    warnings = {*worker.warnings, *enrolment.warnings}
    if worker.needs_correction or enrolment.needs_correction:
        warnings.add("needs_correction")
    return {
        "id": enrolment.id,
        "version": enrolment.version,
        "status": enrolment.status,
        "status_reason": enrolment.status_reason,
        "status_changed_at": iso_datetime(enrolment.status_changed_at),
        "village": enrolment.village_id,
        "segment": enrolment.segment,
        "programs": list(enrolment.programs),
        "funding_source": enrolment.funding_source_id,
        "budget_year": enrolment.budget_year,
        "coverage_start": iso_date(enrolment.coverage_start),
        "payment_period_months": enrolment.payment_period_months,
        "monthly_contribution": enrolment.monthly_contribution,
        "annual_contribution": enrolment.annual_contribution,
        "warnings": sorted(warnings),
        "needs_correction": enrolment.needs_correction,
        "errors": dict(enrolment.errors),
        "worker": {
            "id": worker.id,
            "full_name": worker.full_name,
            "nik": mask_nik(worker.nik),
            "birth_date": iso_date(worker.birth_date),
            "sex": worker.sex or None,
            "occupation": worker.occupation_id,
            "village": worker.village_id,
            "consent_given": worker.consent_given_at is not None,
            "warnings": list(worker.warnings),
            "needs_correction": worker.needs_correction,
            "errors": dict(worker.errors),
        },
    }


# --- schema descriptions -------------------------------------------------------------------------


class EnrolmentInputSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[A-Za-z0-9_-]{1,64}$", required=False)
    version = serializers.IntegerField(required=False, help_text="Bulk only: the version the change is based on.")
    worker = serializers.CharField(help_text="The worker's id.")
    segment = serializers.ChoiceField(choices=Segment.choices, default=Segment.BPU)
    programs = serializers.ListField(
        child=serializers.ChoiceField(choices=Program.choices), help_text="JKK and JKM are mandatory; JHT optional."
    )
    funding_source = serializers.CharField(help_text="A funding source code from GET /api/v1/reference.")
    budget_year = serializers.IntegerField(required=False, help_text="Defaults to the year coverage starts.")
    funding_decree = serializers.CharField(required=False, allow_blank=True)
    coverage_start = serializers.DateField()
    payment_period_months = serializers.ChoiceField(choices=[(p, p) for p in PAYMENT_PERIODS], default=1)
    status = serializers.ChoiceField(choices=[Status.DRAFT, Status.SUBMITTED], required=False, default=Status.DRAFT)
    allocation = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="The funding decree paying for it (GET /api/v1/funding/allocations); sets funding source, "
        "budget year and decree number when those are left out. Counted against the decree once verified.",
    )


class ContributionDetailSerializer(serializers.Serializer):
    month = serializers.CharField()
    base_idr = serializers.IntegerField(allow_null=True)
    programs = serializers.DictField(child=serializers.IntegerField())
    gross = serializers.DictField(child=serializers.IntegerField())
    discount = serializers.DictField(child=serializers.IntegerField())
    discount_names = serializers.ListField(child=serializers.CharField())
    total = serializers.IntegerField()
    annual = serializers.IntegerField()


class EnrolmentSerializer(serializers.Serializer):
    id = serializers.CharField()
    worker = serializers.CharField()
    village = serializers.CharField()
    segment = serializers.ChoiceField(choices=Segment.choices)
    programs = serializers.ListField(child=serializers.ChoiceField(choices=Program.choices))
    funding_source = serializers.CharField(allow_null=True)
    budget_year = serializers.IntegerField(allow_null=True)
    funding_decree = serializers.CharField()
    coverage_start = serializers.DateField(allow_null=True)
    payment_period_months = serializers.IntegerField()
    monthly_contribution = serializers.IntegerField(help_text="IDR, server-computed: the first month of coverage.")
    annual_contribution = serializers.IntegerField(
        help_text="IDR: twelve months from coverage_start at each month's rates."
    )
    contribution_detail = ContributionDetailSerializer()
    status = serializers.ChoiceField(choices=Status.choices)
    status_reason = serializers.CharField()
    status_changed_at = serializers.DateTimeField(allow_null=True)
    registry_number = serializers.CharField(allow_null=True, help_text="KPJ participant number, set by the registry.")
    synced_at = serializers.DateTimeField(allow_null=True)
    registry_status = serializers.ChoiceField(
        choices=RegistryStatus.choices,
        allow_null=True,
        help_text="The registry's own status: `inactive` = cover suspended (e.g. unpaid), still registered.",
    )
    registry_status_date = serializers.DateField(allow_null=True, help_text="When the registry status took effect.")
    allocation = serializers.CharField(allow_null=True, help_text="The funding decree paying for it.")
    paid_through = serializers.CharField(
        allow_null=True, help_text="YYYY-MM: the last month paid for. Unpaid for more than 3 months after it: inactive."
    )
    renews = serializers.CharField(allow_null=True, help_text="For a renewal: the participant number (KPJ) it renews.")
    renewal_of = serializers.CharField(allow_null=True, help_text="For a renewal: last year's enrolment.")
    warnings = serializers.ListField(child=serializers.CharField())
    needs_correction = serializers.BooleanField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]  # a declared field, taken off the class by DRF's metaclass
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    deleted = serializers.BooleanField()

    def to_representation(self, instance: Enrolment) -> dict[str, Any]:
        return enrolment_representation(instance)


class ActionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=1000, help_text="Required to reject or end."
    )


class RegistrationEnrolmentInputSerializer(EnrolmentInputSerializer):
    """A registration's enrolment: its worker is the one registered with it."""

    worker = serializers.CharField(required=False, help_text="May be left out: it is the worker above.")


class RegistrationInputSerializer(serializers.Serializer):
    worker = WorkerInputSerializer()
    enrolment = RegistrationEnrolmentInputSerializer()


class RegistrationSerializer(serializers.Serializer):
    worker = WorkerSerializer()
    enrolment = EnrolmentSerializer()


class ReferenceSerializer(serializers.Serializer):
    """GET /reference: lists of plain objects (see the example in the docs)."""

    version = serializers.CharField(help_text="Changes exactly when the content changes; also the ETag.")
    occupations = serializers.ListField(child=serializers.DictField())
    funding_sources = serializers.ListField(child=serializers.DictField())
    programs = serializers.ListField(child=serializers.DictField())
    segments = serializers.ListField(child=serializers.CharField())
    payment_period_months = serializers.ListField(child=serializers.IntegerField())
    consent_methods = serializers.ListField(child=serializers.CharField())
    privacy_notices = serializers.ListField(child=serializers.DictField())
    heir_relationships = serializers.ListField(child=serializers.CharField())
    statuses = serializers.ListField(child=serializers.CharField())
    contribution_rules = serializers.ListField(child=serializers.DictField())
    income_bands = serializers.ListField(child=serializers.DictField())
    discounts = serializers.ListField(child=serializers.DictField())
    age_limits = serializers.DictField(child=serializers.IntegerField())


# --- the verification queue ------------------------------------------------------------------------


class QueueWorkerSerializer(serializers.Serializer):
    id = serializers.CharField()
    full_name = serializers.CharField()
    nik = serializers.CharField(help_text="Masked: 1704********0001.")
    birth_date = serializers.DateField(allow_null=True)
    sex = serializers.CharField(allow_null=True)
    occupation = serializers.CharField(allow_null=True)
    village = serializers.CharField()
    consent_given = serializers.BooleanField()
    warnings = serializers.ListField(child=serializers.CharField())
    needs_correction = serializers.BooleanField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]  # a declared field, taken off the class by DRF's metaclass


class QueueItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Status.choices)
    status_reason = serializers.CharField()
    status_changed_at = serializers.DateTimeField(allow_null=True)
    village = serializers.CharField()
    segment = serializers.CharField()
    programs = serializers.ListField(child=serializers.CharField())
    funding_source = serializers.CharField(allow_null=True)
    budget_year = serializers.IntegerField(allow_null=True)
    coverage_start = serializers.DateField(allow_null=True)
    payment_period_months = serializers.IntegerField()
    monthly_contribution = serializers.IntegerField(help_text="IDR")
    annual_contribution = serializers.IntegerField(help_text="IDR")
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text="The worker's and the enrolment's, plus needs_correction."
    )
    needs_correction = serializers.BooleanField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]  # a declared field, taken off the class by DRF's metaclass
    worker = QueueWorkerSerializer()


class QueueFilterSerializer(selectors.EnrolmentFilterSerializer):
    status = serializers.MultipleChoiceField(
        choices=Status.choices, required=False, help_text="Default: submitted (waiting for verification)."
    )


class DecisionRecordSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version you decided on; 412 in its result when it changed."
    )


class DecisionInputSerializer(serializers.Serializer):
    records = DecisionRecordSerializer(many=True, required=False)
    ids = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=1000, help_text="Required to reject; shown to the field officer."
    )


class DecisionOutputSerializer(serializers.Serializer):
    results = BulkResultSerializer(many=True)
    summary = serializers.DictField(child=serializers.IntegerField())
