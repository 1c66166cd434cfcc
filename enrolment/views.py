"""Enrolments, registrations and the reference bundle over HTTP."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import FieldsInvalid
from config.http import PayloadTooLarge, bulk_records, if_match_version, object_body
from config.pagination import CursorPagination
from enrolment import selectors, services
from enrolment.models import Status
from enrolment.reference import reference_bundle
from enrolment.serializers import (
    ActionInputSerializer,
    DecisionInputSerializer,
    DecisionOutputSerializer,
    EnrolmentInputSerializer,
    EnrolmentSerializer,
    QueueFilterSerializer,
    QueueItemSerializer,
    ReferenceSerializer,
    RegistrationInputSerializer,
    RegistrationSerializer,
    enrolment_outcome_representation,
    enrolment_representation,
    queue_item_representation,
)
from enrolment.validation import clean_enrolment
from villages.audit import Actor
from villages.auth import official
from villages.models import Role
from villages.permissions import FIELD_ROLES, RecordAccess, role_in
from workers.permissions import audit_list, may_see_full_nik
from workers.serializers import BulkInputSerializer, BulkOutputSerializer, worker_representation
from workers.services import Result, SaveMode

QUEUE_ROLES = (Role.VILLAGE_OPERATOR, Role.SUPERVISOR)

IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False, description="412 when stale.")


class ReferenceView(APIView):
    @extend_schema(
        responses={200: ReferenceSerializer, 304: None},
        tags=["reference"],
        description="Everything a device needs offline. Send If-None-Match with the version for a 304.",
    )
    def get(self, request: Request) -> Response:
        bundle = reference_bundle()
        etag = f'"{bundle["version"]}"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(bundle, headers={"ETag": etag})


class EnrolmentListView(APIView):
    pagination_class = CursorPagination
    permission_classes = [RecordAccess]
    replica_reads = True  # GET reads may go to the replica (config/replicas.py)

    @extend_schema(
        parameters=[selectors.EnrolmentFilterSerializer],
        responses={200: EnrolmentSerializer(many=True)},
        tags=["enrolments"],
    )
    def get(self, request: Request) -> Response:
        filters = selectors.EnrolmentFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        enrolments = selectors.enrolment_list(user=official(request), **filters.validated_data)
        paginator = CursorPagination()
        paginator.ordering = "id"
        page = paginator.paginate_queryset(enrolments, request, view=self)
        return paginator.get_paginated_response([enrolment_representation(e) for e in page])

    @extend_schema(
        request=EnrolmentInputSerializer,
        responses={201: EnrolmentSerializer, 200: EnrolmentSerializer},
        tags=["enrolments"],
        description="Creates an enrolment (draft or submitted); replays answer 200; a second live one 409 `already_enrolled`.",
    )
    def post(self, request: Request) -> Response:
        outcome = services.enrolment_create(actor=Actor.from_request(request), data=request.data)
        code = status.HTTP_201_CREATED if outcome.result == Result.CREATED else status.HTTP_200_OK
        return Response(enrolment_representation(outcome.saved), status=code)


class EnrolmentDetailView(APIView):
    permission_classes = [RecordAccess]

    @extend_schema(responses={200: EnrolmentSerializer}, tags=["enrolments"])
    def get(self, request: Request, enrolment_id: str) -> Response:
        return Response(
            enrolment_representation(selectors.enrolment_get(user=official(request), enrolment_id=enrolment_id))
        )

    @extend_schema(
        parameters=[IF_MATCH],
        request=EnrolmentInputSerializer,
        responses={200: EnrolmentSerializer},
        tags=["enrolments"],
    )
    def patch(self, request: Request, enrolment_id: str) -> Response:
        patch = object_body(request)
        outcome = services.enrolment_update(
            actor=Actor.from_request(request),
            enrolment_id=enrolment_id,
            patch=patch,
            if_match=if_match_version(request),
        )
        return Response(enrolment_representation(outcome.saved))

    @extend_schema(
        parameters=[IF_MATCH],
        responses={204: None},
        tags=["enrolments"],
        description="Soft delete while in preparation.",
    )
    def delete(self, request: Request, enrolment_id: str) -> Response:
        services.enrolment_delete(
            actor=Actor.from_request(request), enrolment_id=enrolment_id, if_match=if_match_version(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class EnrolmentActionView(APIView):
    """POST /enrolments/{id}/submit|verify|reject|end."""

    # Which role may do which action is the workflow's rule (a 403 from the service).
    permission_classes = [role_in(*FIELD_ROLES, Role.SUPERVISOR)]

    @extend_schema(
        parameters=[IF_MATCH],
        request=ActionInputSerializer,
        responses={200: EnrolmentSerializer},
        tags=["enrolments"],
        description=(
            "Field officers and operators submit; operators verify and reject (with a reason); supervisors end "
            "(with a reason). Repeating an action that is already done answers 200. Submitting a rejected "
            "enrolment while the person has another live one is 409 `already_enrolled`; submitting or verifying "
            "the enrolment of a deleted person is 409 `worker_deleted`."
        ),
    )
    def post(self, request: Request, enrolment_id: str, action: str) -> Response:
        data = ActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.enrolment_transition(
            actor=Actor.from_request(request),
            enrolment_id=enrolment_id,
            action=action,
            reason=data.validated_data.get("reason", ""),
            if_match=if_match_version(request),
        )
        return Response(enrolment_representation(outcome.saved))


class EnrolmentBulkView(APIView):
    permission_classes = [RecordAccess]

    @extend_schema(request=BulkInputSerializer, responses={200: BulkOutputSerializer}, tags=["enrolments"])
    def post(self, request: Request) -> Response:
        records = bulk_records(request)
        refs = services.enrolment_refs(user=official(request), records=records)
        cleaned = [clean_enrolment(record, refs=refs) for record in records]
        outcomes = services.enrolments_save(
            actor=Actor.from_request(request), records=cleaned, refs=refs, mode=SaveMode.UPSERT
        )
        summary = {result.value: 0 for result in Result}
        for outcome in outcomes:
            summary[outcome.result.value] += 1
        return Response({"results": [enrolment_outcome_representation(o) for o in outcomes], "summary": summary})


class RegistrationView(APIView):
    permission_classes = [RecordAccess]

    @extend_schema(
        request=RegistrationInputSerializer,
        responses={201: RegistrationSerializer, 200: RegistrationSerializer},
        tags=["enrolments"],
        description="A worker and their enrolment in one transaction: both or neither. Errors name `worker.<field>` or `enrolment.<field>`.",
    )
    def post(self, request: Request) -> Response:
        body = object_body(request)
        outcome = services.registration_create(
            actor=Actor.from_request(request), worker_data=body.get("worker"), enrolment_data=body.get("enrolment")
        )
        worker = outcome.worker.saved
        return Response(
            {
                "worker": worker_representation(
                    worker, full_nik=may_see_full_nik(official(request), worker.village_id)
                ),
                "enrolment": enrolment_representation(outcome.enrolment.saved),
            },
            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
        )


# --- the verification queue (operators) ------------------------------------------------------------


class VerificationQueueView(APIView):
    pagination_class = CursorPagination
    permission_classes = [role_in(*QUEUE_ROLES)]
    replica_reads = True  # GET reads may go to the replica (config/replicas.py)

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
        enrolments = selectors.enrolment_list(user=official(request), **query).select_related("worker")
        paginator = CursorPagination()
        paginator.ordering = ("status_changed_at", "id")
        page = paginator.paginate_queryset(enrolments, request, view=self)
        audit_list(
            Actor.from_request(request),
            "enrolment",
            count=len(page),
            filters=query,
            queue=True,
            people=((e.worker_id, e.village_id) for e in page),
        )
        return paginator.get_paginated_response([queue_item_representation(e) for e in page])


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
