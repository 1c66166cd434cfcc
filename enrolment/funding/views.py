"""The budget year over HTTP: thin views over enrolment.funding's services."""

from __future__ import annotations

from functools import partial

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import if_match_version
from config.pagination import CursorPagination, filtered_page
from enrolment.funding import allocations, deaths, payments
from enrolment.funding.renewals import jobs as renewals
from enrolment.funding.serializers import (
    AllocationFilterSerializer,
    AllocationInputSerializer,
    AllocationPatchSerializer,
    AllocationSerializer,
    ClaimFilterSerializer,
    ClaimPatchSerializer,
    ClaimSerializer,
    DeathInputSerializer,
    PaymentInputSerializer,
    PaymentSerializer,
    RenewalInputSerializer,
    RenewalRowFilterSerializer,
    RenewalRowSerializer,
    RenewalSerializer,
    SelfPaymentInputSerializer,
    allocation_representation,
    claim_representation,
    payment_representation,
    renewal_representation,
)
from enrolment.serializers import EnrolmentSerializer, enrolment_representation
from villages.audit import Actor, audit_event
from villages.auth import official
from villages.models import AuditAction
from villages.permissions import AdminOrSupervisor, role_in
from workers.permissions import audit_list

IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False, description="412 when stale.")


class AllocationListView(APIView):
    pagination_class = CursorPagination  # read by the schema (config/pagination.py)
    permission_classes = [AdminOrSupervisor]

    @extend_schema(
        parameters=[AllocationFilterSerializer], responses={200: AllocationSerializer(many=True)}, tags=["funding"]
    )
    def get(self, request: Request) -> Response:
        return filtered_page(
            view=self,
            request=request,
            filters=AllocationFilterSerializer,
            select=partial(allocations.allocation_list, user=official(request)),
            serializer_class=AllocationSerializer,
            ordering="id",
        )

    @extend_schema(
        request=AllocationInputSerializer,
        responses={201: AllocationSerializer, 200: AllocationSerializer},
        tags=["funding"],
        description="Records a funding decree (SK). The same `id` and body again answer 200 with the stored one.",
    )
    def post(self, request: Request) -> Response:
        data = AllocationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        allocation, created = allocations.allocation_create(actor=Actor.from_request(request), data=data.validated_data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(allocation_representation(allocation), status=code)


class AllocationDetailView(APIView):
    permission_classes = [AdminOrSupervisor]

    @extend_schema(responses={200: AllocationSerializer}, tags=["funding"])
    def get(self, request: Request, allocation_id: str) -> Response:
        allocation = allocations.allocation_get(user=official(request), allocation_id=allocation_id)
        return Response(allocation_representation(allocation))

    @extend_schema(
        parameters=[IF_MATCH],
        request=AllocationPatchSerializer,
        responses={200: AllocationSerializer},
        tags=["funding"],
        description="Changes a decree; a quota or amount below what it already commits is 409 `allocation_exhausted`.",
    )
    def patch(self, request: Request, allocation_id: str) -> Response:
        data = AllocationPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        allocation = allocations.allocation_update(
            actor=Actor.from_request(request),
            allocation_id=allocation_id,
            data=data.validated_data,
            if_match=if_match_version(request),
        )
        return Response(allocation_representation(allocation))


class RenewalListView(APIView):
    permission_classes = [AdminOrSupervisor]

    @extend_schema(
        request=RenewalInputSerializer,
        responses={202: RenewalSerializer},
        tags=["funding"],
        description=(
            "Asks for a renewal of an area's participants of `from_budget_year` into the decree `to_allocation`. "
            "Answers 202 with the job; follow it at GET /api/v1/renewals/{id}, read every decision at /rows. "
            "With `dry_run` false the carried-over people get the new year's enrolments (verified, ready for the "
            "registry, `renews` = their participant number). Asking again creates nothing new."
        ),
    )
    def post(self, request: Request) -> Response:
        data = RenewalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = renewals.renewal_create(actor=Actor.from_request(request), **data.validated_data)
        return Response(renewal_representation(job), status=status.HTTP_202_ACCEPTED)


class RenewalDetailView(APIView):
    permission_classes = [AdminOrSupervisor]

    @extend_schema(responses={200: RenewalSerializer}, tags=["funding"])
    def get(self, request: Request, job_id: str) -> Response:
        return Response(renewal_representation(renewals.renewal_get(user=official(request), job_id=job_id)))


class RenewalRowsView(APIView):
    pagination_class = CursorPagination  # read by the schema (config/pagination.py)
    permission_classes = [AdminOrSupervisor]

    @extend_schema(
        parameters=[RenewalRowFilterSerializer], responses={200: RenewalRowSerializer(many=True)}, tags=["funding"]
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = renewals.renewal_get(user=official(request), job_id=job_id)  # a 404 before a 400
        return filtered_page(
            view=self,
            request=request,
            filters=RenewalRowFilterSerializer,
            select=partial(renewals.renewal_rows, job=job),
            serializer_class=RenewalRowSerializer,
            ordering="position",
        )


class DeathView(APIView):
    permission_classes = [role_in(*deaths.DEATH_ROLES)]

    @extend_schema(
        request=DeathInputSerializer,
        responses={201: ClaimSerializer, 200: ClaimSerializer},
        tags=["claims"],
        description=(
            "Reports a death (field officers up): ends the person's live enrolment (`ended`, reason `deceased`), "
            "tells the registry (once), and answers the claim: `covered: true` with the document checklist when the "
            "person was covered that day, else `covered: false` with the reason. The same report again answers 200 "
            "with the same claim; another date or cause is 409 `death_already_reported`."
        ),
    )
    def post(self, request: Request, worker_id: str) -> Response:
        data = DeathInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim, created = deaths.death_report(
            actor=Actor.from_request(request), worker_id=worker_id, data=data.validated_data
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(claim_representation(claim), status=code)


class ClaimListView(APIView):
    pagination_class = CursorPagination  # read by the schema (config/pagination.py)
    permission_classes = [role_in(*deaths.CLAIM_ROLES)]

    @extend_schema(parameters=[ClaimFilterSerializer], responses={200: ClaimSerializer(many=True)}, tags=["claims"])
    def get(self, request: Request) -> Response:
        query = ClaimFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        paginator = CursorPagination()
        paginator.ordering = "id"
        page = paginator.paginate_queryset(
            deaths.claim_list(user=official(request), **query.validated_data), request, view=self
        )
        claims = page or []
        # A claim names the deceased and their heirs: audited as a list of those people.
        audit_list(
            Actor.from_request(request),
            "claim",
            count=len(claims),
            filters=query.validated_data,
            people=((c.worker_id, c.village_id) for c in claims),
        )
        return paginator.get_paginated_response(ClaimSerializer(claims, many=True).data)


class ClaimDetailView(APIView):
    permission_classes = [role_in(*deaths.CLAIM_ROLES)]

    @extend_schema(responses={200: ClaimSerializer}, tags=["claims"])
    def get(self, request: Request, claim_id: str) -> Response:
        claim = deaths.claim_get(user=official(request), claim_id=claim_id)
        # A read of the person's claim (and their heirs): in the person's access log.
        audit_event(
            Actor.from_request(request),
            AuditAction.VIEW,
            "worker",
            claim.worker_id,
            area_code=claim.village_id,
            context={"claim": claim.id},
        )
        return Response(claim_representation(claim))

    @extend_schema(
        parameters=[IF_MATCH],
        request=ClaimPatchSerializer,
        responses={200: ClaimSerializer},
        tags=["claims"],
        description=(
            "Records documents received, heirs and notes, and moves the claim: documents_pending → ready (every "
            "document received) → filed → paid, or refused. Other moves are 409 `claim_transition_invalid`."
        ),
    )
    def patch(self, request: Request, claim_id: str) -> Response:
        data = ClaimPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        claim = deaths.claim_update(
            actor=Actor.from_request(request),
            claim_id=claim_id,
            data=data.validated_data,
            if_match=if_match_version(request),
        )
        return Response(claim_representation(claim))


class PaymentListView(APIView):
    permission_classes = [role_in(*payments.PAYMENT_ROLES)]

    @extend_schema(
        request=PaymentInputSerializer,
        responses={201: PaymentSerializer, 200: PaymentSerializer},
        tags=["funding"],
        description=(
            "Records a payment for months of cover, of a decree's active enrolments and/or listed ones, and moves "
            "their `paid_through`. Idempotent on `reference` (the same body again: 200; another: 422). An enrolment "
            "shown `inactive` for unpaid months is `active` again once paid within the last three months."
        ),
    )
    def post(self, request: Request) -> Response:
        data = PaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment, created = payments.payment_record(actor=Actor.from_request(request), data=data.validated_data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(payment_representation(payment), status=code)


class SelfPaymentView(APIView):
    permission_classes = [role_in(*payments.PAYMENT_ROLES)]

    @extend_schema(
        request=SelfPaymentInputSerializer,
        responses={200: EnrolmentSerializer},
        tags=["funding"],
        description=(
            "Hands a publicly funded enrolment over to self-payment (`mandiri`) from a month: the decree's seat is "
            "freed and the contribution re-priced, with the PP 50/2025 discount where it is in force."
        ),
    )
    def post(self, request: Request, enrolment_id: str) -> Response:
        data = SelfPaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enrolment = payments.self_payment_handover(
            actor=Actor.from_request(request), enrolment_id=enrolment_id, from_month=data.validated_data["from_month"]
        )
        return Response(enrolment_representation(enrolment))
