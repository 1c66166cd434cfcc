"""The WatermelonDB sync endpoint. Thin: parse the query, call the service, answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.metrics import SYNC_PULLS, SYNC_PUSHES
from enrolment.sync import services
from enrolment.sync.serializers import PullQuerySerializer, PullSerializer, PushResultSerializer, PushSerializer
from villages.audit import Actor
from villages.models import Device, DeviceToken

PENDING_HEADER = "HTTP_X_PENDING_CHANGES"
HEADERS = [
    OpenApiParameter("X-App-Version", str, OpenApiParameter.HEADER, required=False, description="The app's version."),
    OpenApiParameter(
        "X-Pending-Changes",
        int,
        OpenApiParameter.HEADER,
        required=False,
        description="How many records wait on the phone to be pushed (device health).",
    ),
]


def _device(request: Request) -> Device | None:
    return request.auth.device if isinstance(request.auth, DeviceToken) else None


def _pending(request: Request) -> int | None:
    value = request.META.get(PENDING_HEADER, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


class SyncView(APIView):
    permission_classes = [IsAuthenticated]  # roles are checked by the services

    @extend_schema(
        parameters=[PullQuerySerializer, *HEADERS],
        responses={200: PullSerializer},
        tags=["sync"],
        operation_id="sync_pull",
        description=(
            "WatermelonDB pull: every change in your areas after `last_pulled_at`, from one consistent "
            "snapshot. Deleted records, records that moved out of your areas and records of areas taken "
            "from you come as `deleted`. Field officers, operators and supervisors."
        ),
    )
    def get(self, request: Request) -> Response:
        query = PullQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        device = _device(request)
        services.record_pending(device, _pending(request))
        last_pulled_at = query.validated_data.get("last_pulled_at")
        pulled = services.sync_pull(
            actor=Actor.from_request(request),
            device=device,
            last_pulled_at=last_pulled_at,
            schema_version=query.validated_data.get("schema_version"),
        )
        SYNC_PULLS.labels("incremental" if last_pulled_at else "full").inc()
        return Response(pulled)

    @extend_schema(
        parameters=[PullQuerySerializer, *HEADERS],
        request=PushSerializer,
        responses={200: PushResultSerializer},
        tags=["sync"],
        operation_id="sync_push",
        description=(
            "WatermelonDB push, applied in one transaction. `created` of an existing id updates it, "
            "`updated` of a missing id creates it, `deleted` of a missing id is ignored; unknown keys and "
            "server-owned fields are ignored. A record failing validation is stored with "
            "`needs_correction` and its errors and comes back on the next pull. 409 `sync_conflict` "
            "(nothing applied) when a pushed record changed on the server after `last_pulled_at`: pull, "
            "then push again. Sending the same push again changes nothing. Field officers and operators."
        ),
    )
    def post(self, request: Request) -> Response:
        query = PullQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        body = request.data
        result = services.sync_push(
            actor=Actor.from_request(request),
            device=_device(request),
            last_pulled_at=query.validated_data.get("last_pulled_at"),
            changes=body.get("changes") if isinstance(body, dict) else None,
            pending=_pending(request),
        )
        SYNC_PUSHES.inc()
        return Response(result.as_dict())
