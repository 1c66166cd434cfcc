"""The operators' view of the registry sync: batches, their results, retry, sync now.

Scope: a batch may hold records of many villages. A caller sees a batch (and may retry it) when
at least one of its records lies in the caller's areas; otherwise it is a 404 like any record
outside scope. The batch's own state (status, attempts, errors, totals) is the same for everyone
who may see it; the per-record results list only the records in the caller's areas.
"""

from __future__ import annotations

import uuid

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.pagination import CursorPagination
from enrolment.registry import selectors, services
from enrolment.registry.models import RegistryBatch
from enrolment.registry.serializers import (
    BatchDetailSerializer,
    BatchFilterSerializer,
    BatchSerializer,
    SyncRequestSerializer,
    batch_representation,
)
from villages.audit import Actor
from villages.auth import official
from villages.models import Role, User
from villages.permissions import role_in
from villages.scope import scope_of

RegistryAccess = role_in(Role.VILLAGE_OPERATOR, Role.SUPERVISOR)


def _visible_batch(user: User, batch_id: str) -> RegistryBatch:
    try:
        uuid.UUID(batch_id)
    except ValueError:
        raise Http404 from None
    batch = selectors.registry_batches_visible(user=user).filter(pk=batch_id).first()
    if batch is None:
        raise Http404
    return batch


def _detail(user: User, batch: RegistryBatch) -> dict:
    items = scope_of(user).filter(batch.items.all(), "village__code").order_by("position")
    return batch_representation(batch, items=items)


class RegistryBatchListView(APIView):
    pagination_class = CursorPagination
    permission_classes = [RegistryAccess]

    @extend_schema(
        parameters=[BatchFilterSerializer],
        responses={200: BatchSerializer(many=True)},
        tags=["registry"],
        description="Batches with at least one record in the caller's areas, newest first.",
    )
    def get(self, request: Request) -> Response:
        filters = BatchFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        batches = selectors.registry_batches_visible(user=official(request))
        if filters.validated_data.get("status"):
            batches = batches.filter(status__in=filters.validated_data["status"])
        paginator = CursorPagination()
        paginator.ordering = ("-created_at", "id")
        page = paginator.paginate_queryset(batches, request, view=self)
        return paginator.get_paginated_response([batch_representation(batch) for batch in page])


class RegistryBatchDetailView(APIView):
    permission_classes = [RegistryAccess]

    @extend_schema(responses={200: BatchDetailSerializer}, tags=["registry"])
    def get(self, request: Request, batch_id: str) -> Response:
        return Response(_detail(official(request), _visible_batch(official(request), batch_id)))


class RegistryBatchRetryView(APIView):
    permission_classes = [RegistryAccess]

    @extend_schema(
        request=None,
        responses={
            202: BatchDetailSerializer,
            200: BatchDetailSerializer,
            409: OpenApiResponse(description="`batch_not_retryable`: the batch completed"),
        },
        tags=["registry"],
        description=(
            "Sends a failed batch again (202). A batch already on its way is left as it is (200); a completed "
            "one is 409 `batch_not_retryable`. After a 400 from the registry the batch is rebuilt from the "
            "records' current data (correct them first); after any other failure the same request is resent."
        ),
    )
    def post(self, request: Request, batch_id: str) -> Response:
        outcome = services.registry_batch_retry(actor=Actor.from_request(request), batch_id=batch_id)
        return Response(
            _detail(official(request), outcome.batch),
            status=status.HTTP_202_ACCEPTED if outcome.retried else status.HTTP_200_OK,
        )


class RegistrySyncView(APIView):
    permission_classes = [RegistryAccess]

    @extend_schema(
        request=None,
        responses={
            202: SyncRequestSerializer,
            503: OpenApiResponse(description="`registry_not_configured`: no REGISTRY_URL"),
        },
        tags=["registry"],
        description=(
            "Starts a sync cycle now: verified enrolments are claimed into batches and sent. Requests a few "
            "seconds apart start one cycle. 503 `registry_not_configured` without a registry."
        ),
    )
    def post(self, request: Request) -> Response:
        scheduled = services.registry_sync_request(actor=Actor.from_request(request))
        return Response({"scheduled": scheduled}, status=status.HTTP_202_ACCEPTED)
