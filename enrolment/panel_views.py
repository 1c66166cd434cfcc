"""What the village admin panel and the regency/province offices use: the verification queue,
bulk verify/reject, coverage reports and exports. Views parse, call one function, represent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import FieldsInvalid
from config.formats import iso_date, iso_datetime
from config.http import PayloadTooLarge
from config.pagination import CursorPagination
from enrolment import exports, selectors, services
from enrolment.models import Enrolment, Status
from enrolment.reports import coverage
from enrolment.serializers import enrolment_outcome_representation
from villages.audit import Actor, audit_event, mask_nik
from villages.models import AuditAction, Role
from villages.permissions import role_in
from workers.serializers import BulkResultSerializer

QUEUE_ROLES = (Role.VILLAGE_OPERATOR, Role.SUPERVISOR)
REPORT_ROLES = (Role.VILLAGE_OPERATOR, Role.SUPERVISOR, Role.VIEWER)
EXPORT_ROLES = (Role.VILLAGE_OPERATOR, Role.SUPERVISOR)


# --- verification queue ----------------------------------------------------------------------------


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
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


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
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    worker = QueueWorkerSerializer()


class QueueFilterSerializer(selectors.EnrolmentFilterSerializer):
    status = serializers.MultipleChoiceField(
        choices=Status.choices, required=False, help_text="Default: submitted (waiting for verification)."
    )


class VerificationQueueView(APIView):
    permission_classes = [role_in(*QUEUE_ROLES)]

    @extend_schema(
        parameters=[QueueFilterSerializer],
        responses={200: QueueItemSerializer(many=True)},
        tags=["verification"],
        description=(
            "Enrolments waiting for an operator (status `submitted` unless `status` says otherwise), oldest "
            "submission first, with the worker's name, masked NIK, warnings and the contribution. Filters: "
            "village, area, occupation, warning (possible_duplicate, nik_mismatch, needs_correction, ...), q."
        ),
    )
    def get(self, request: Request) -> Response:
        filters = QueueFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        query = dict(filters.validated_data)
        query["status"] = query.get("status") or {Status.SUBMITTED}
        enrolments = selectors.enrolment_list(user=request.user, **query).select_related("worker")
        paginator = CursorPagination()
        paginator.ordering = ("status_changed_at", "id")
        page = paginator.paginate_queryset(enrolments, request, view=self)
        audit_event(
            Actor.from_request(request),
            AuditAction.LIST,
            "enrolment",
            context={"count": len(page), "queue": True, "filters": {k: str(v) for k, v in query.items()}},
        )
        return paginator.get_paginated_response([queue_item_representation(e) for e in page])


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


class VerificationDecisionView(APIView):
    """POST /verification/verify|reject: many enrolments at once, one result each."""

    permission_classes = [role_in(Role.VILLAGE_OPERATOR)]

    @extend_schema(
        request=DecisionInputSerializer,
        responses={200: DecisionOutputSerializer},
        tags=["verification"],
        description=(
            "Verifies or rejects (with `reason`) up to 1,000 enrolments: send `ids`, or `records` with the "
            "`version` you saw. One result per enrolment, in order: updated, unchanged (already so: a resent "
            "request changes nothing) or invalid with its error (404 outside your areas, 409 "
            "invalid_transition, 409 worker_deleted when the person's record was deleted, 412 stale version, 400 "
            "needs correction). Each change is audited."
        ),
    )
    def post(self, request: Request, action: str) -> Response:
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        records = data.validated_data.get("records") or [{"id": i} for i in data.validated_data.get("ids", [])]
        if not records:
            raise FieldsInvalid(fields={"ids": [_("Send at least one enrolment id.")]})
        if len(records) > settings.BULK_MAX_RECORDS:
            raise PayloadTooLarge(details={"max_records": settings.BULK_MAX_RECORDS, "received": len(records)})
        outcomes = services.enrolments_transition(
            actor=Actor.from_request(request),
            requests=[services.TransitionRequest(r["id"], r.get("version")) for r in records],
            action=action,
            reason=data.validated_data.get("reason", ""),
        )
        summary = {"updated": 0, "unchanged": 0, "invalid": 0}
        for outcome in outcomes:
            summary[outcome.result.value] = summary.get(outcome.result.value, 0) + 1
        return Response({"results": [enrolment_outcome_representation(o) for o in outcomes], "summary": summary})


# --- coverage report ----------------------------------------------------------------------------------


class CoverageQuerySerializer(serializers.Serializer):
    area = serializers.CharField(
        required=False, max_length=13, help_text="Any area you may see whole. Default: your one assigned area."
    )
    year = serializers.IntegerField(
        required=False, min_value=2000, max_value=2100, help_text="Budget year; default the current year."
    )
    group_by = serializers.ChoiceField(
        choices=coverage.GROUP_LEVELS, required=False, help_text="Default: the level below the area."
    )


class CoverageRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()
    target_workers = serializers.IntegerField(
        allow_null=True, help_text="The area's target for the year, else the sum of the nearest targets below it."
    )
    budget_idr = serializers.IntegerField(allow_null=True, help_text="Same rule as target_workers.")
    registered_workers = serializers.IntegerField(help_text="Workers not deleted, living in the area now.")
    workers_needing_correction = serializers.IntegerField()
    live_enrolments = serializers.IntegerField(
        help_text="The year's enrolments in draft, submitted, verified, queued or active; not flagged."
    )
    active_enrolments = serializers.IntegerField(help_text="Live and active (a KPJ number): people covered.")
    coverage_percent = serializers.FloatField(
        allow_null=True, help_text="active_enrolments / target_workers x 100, two decimals (half up)."
    )
    monthly_contribution_idr = serializers.IntegerField(help_text="Sum over live enrolments, first month.")
    annual_contribution_idr = serializers.IntegerField(help_text="Sum over live enrolments, twelve months.")
    by_status = serializers.DictField(child=serializers.IntegerField(), help_text="The year's enrolments.")
    by_occupation = serializers.DictField(child=serializers.IntegerField(), help_text="Registered workers.")
    by_funding_source = serializers.DictField(child=serializers.IntegerField(), help_text="Live enrolments.")


class CoverageAreaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()


class CoverageReportSerializer(serializers.Serializer):
    area = CoverageAreaSerializer()
    year = serializers.IntegerField()
    group_by = serializers.CharField()
    generated_at = serializers.DateTimeField()
    total = CoverageRowSerializer()
    results = CoverageRowSerializer(many=True)


class CoverageReportView(APIView):
    permission_classes = [role_in(*REPORT_ROLES)]

    @extend_schema(
        parameters=[CoverageQuerySerializer],
        responses={200: CoverageReportSerializer},
        tags=["reports"],
        description=(
            "Coverage of an area against its targets, per regency, district or village, and in total. The "
            "budget year is the enrolments' `budget_year`. Money is integer rupiah. 404 for an area you may "
            "not see whole. See the field descriptions for each definition."
        ),
    )
    def get(self, request: Request) -> Response:
        query = CoverageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = coverage.coverage_report(
            user=request.user,
            area=query.validated_data.get("area"),
            year=query.validated_data.get("year"),
            group_by=query.validated_data.get("group_by"),
        )
        return Response(report)


# --- exports ------------------------------------------------------------------------------------------------


class ExportQuerySerializer(serializers.Serializer):
    area = serializers.CharField(required=False, max_length=13, help_text="Default: all your areas.")
    full_nik = serializers.BooleanField(
        required=False, default=False, help_text="Workers only, village operators only: NIKs unmasked."
    )
    status = serializers.MultipleChoiceField(choices=Status.choices, required=False, help_text="Enrolments only.")
    budget_year = serializers.IntegerField(required=False, help_text="Enrolments only.")


class ExportView(APIView):
    permission_classes = [role_in(*EXPORT_ROLES)]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A client asking only for text/csv must not get 406: errors still answer JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, exports.XLSX_TYPE): OpenApiTypes.BINARY,
        },
        tags=["exports"],
        description=(
            "An area's workers (in the import layout, with their live enrolment) or enrolments, streamed. "
            "NIKs masked unless a village operator asks `full_nik=true` for workers. Every export is audited. "
            "`X-Export-Count` carries the row count."
        ),
    )
    def get(self, request: Request, kind: str, file_format: str) -> StreamingHttpResponse | FileResponse:
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        area = query.validated_data.get("area")
        export = exports.export_prepare(
            actor=Actor.from_request(request),
            kind=kind,
            file_format=file_format,
            area=area,
            full_nik=query.validated_data["full_nik"],
            status=query.validated_data.get("status"),
            budget_year=query.validated_data.get("budget_year"),
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        filename = f"{'pekerja' if kind == 'workers' else 'kepesertaan'}-{area or 'semua'}-{stamp}"
        return exports.export_response(export, file_format=file_format, filename=filename)
