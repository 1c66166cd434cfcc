"""Data-subject rights over HTTP (API.md "Privacy"). Thin: parse, call a service, answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enrolment.privacy import services
from villages.audit import Actor
from villages.models import Role
from villages.permissions import AdminOnly, role_in
from workers.serializers import worker_representation

OperatorsAndAdmins = role_in(Role.VILLAGE_OPERATOR)
SupervisorsAndAdmins = role_in(Role.SUPERVISOR)
ERASURE = OpenApiResponse(description="`409 erasure_restricted` while an enrolment is live (listed in details).")


class ErasureSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
    request_reference = serializers.CharField(max_length=100)


class RestrictionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class AccessQuerySerializer(serializers.Serializer):
    user = serializers.IntegerField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()


class PersonalDataView(APIView):
    permission_classes = [OperatorsAndAdmins]

    @extend_schema(
        responses={200: OpenApiResponse(description="worker, enrolments, consent, access_log")},
        tags=["privacy"],
        description="Everything held about one person, with the full NIK, and who touched it. Audited.",
    )
    def get(self, request: Request, worker_id: str) -> Response:
        return Response(services.personal_data(actor=Actor.from_request(request), worker_id=worker_id))


class AccessLogView(APIView):
    permission_classes = [SupervisorsAndAdmins]

    @extend_schema(
        responses={200: OpenApiResponse(description="[{at, user, action, object_type, object_id, context}]")},
        tags=["privacy"],
        description="Who viewed, exported or changed this person (the person's and their enrolments' events).",
    )
    def get(self, request: Request, worker_id: str) -> Response:
        return Response({"events": services.access_log(actor=Actor.from_request(request), worker_id=worker_id)})


class AuditAccessView(APIView):
    permission_classes = [AdminOnly]

    @extend_schema(
        parameters=[AccessQuerySerializer],
        responses={200: OpenApiResponse(description="{user, since, until, people: [...], bulk_reads: [...]}")},
        tags=["privacy"],
        description="Every person a user viewed or changed in a period, and their lists and exports (breach notice).",
    )
    def get(self, request: Request) -> Response:
        query = AccessQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(
            services.people_touched(
                actor=Actor.from_request(request),
                user_id=query.validated_data["user"],
                since=query.validated_data["since"],
                until=query.validated_data["until"],
            )
        )


class EraseView(APIView):
    permission_classes = [OperatorsAndAdmins]

    @extend_schema(request=ErasureSerializer, responses={200: OpenApiResponse(), 409: ERASURE}, tags=["privacy"])
    def post(self, request: Request, worker_id: str) -> Response:
        body = ErasureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        worker = services.erase(actor=Actor.from_request(request), worker_id=worker_id, **body.validated_data)
        return Response(worker_representation(worker, full_nik=False))


class RestrictView(APIView):
    permission_classes = [OperatorsAndAdmins]

    @extend_schema(request=RestrictionSerializer, responses={200: OpenApiResponse()}, tags=["privacy"])
    def post(self, request: Request, worker_id: str) -> Response:
        body = RestrictionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        worker = services.restrict(actor=Actor.from_request(request), worker_id=worker_id, **body.validated_data)
        return Response(worker_representation(worker, full_nik=False))
