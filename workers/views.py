"""Workers over HTTP. Thin: parse, call a service or selector, represent."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import bulk_records, if_match_version, object_body
from config.pagination import CursorPagination
from villages.audit import Actor
from villages.auth import official
from villages.permissions import RecordAccess
from workers import nik_status, permissions, selectors, services
from workers.serializers import (
    BulkInputSerializer,
    BulkOutputSerializer,
    NikStatusInputSerializer,
    WorkerInputSerializer,
    WorkerSerializer,
    outcome_representation,
    worker_representation,
)
from workers.services import Result, SaveMode
from workers.validation import clean_worker

IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False, description="The version you read; 412 when stale."
)


def _detail_response(request: Request, worker: Any, status_code: int = 200) -> Response:
    full = permissions.may_see_full_nik(official(request), worker.village_id)
    return Response(worker_representation(worker, full_nik=full), status=status_code)


class WorkerListView(APIView):
    pagination_class = CursorPagination
    permission_classes = [RecordAccess]
    replica_reads = True  # GET reads may go to the replica (config/replicas.py)

    @extend_schema(
        parameters=[selectors.WorkerFilterSerializer],
        responses={200: WorkerSerializer(many=True)},
        tags=["workers"],
        description="Workers in your areas, NIK masked. Cursor-paginated by id.",
    )
    def get(self, request: Request) -> Response:
        filters = selectors.WorkerFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        workers = selectors.worker_list(user=official(request), **filters.validated_data)
        paginator = CursorPagination()
        paginator.ordering = "id"
        page = paginator.paginate_queryset(workers, request, view=self)
        permissions.audit_list(
            Actor.from_request(request),
            "worker",
            count=len(page),
            filters=filters.validated_data,
            people=((w.id, w.village_id) for w in page),
        )
        return paginator.get_paginated_response([worker_representation(w, full_nik=False) for w in page])

    @extend_schema(
        request=WorkerInputSerializer,
        responses={201: WorkerSerializer, 200: WorkerSerializer},
        tags=["workers"],
        description=(
            "Creates a worker. The same id and body again answers 200 with the stored record; the same id "
            "with another body 422 `idempotency_key_reused`; a NIK registered to another live worker 409 "
            "`nik_already_registered` (naming that worker only when it is in your areas)."
        ),
    )
    def post(self, request: Request) -> Response:
        outcome = services.worker_create(actor=Actor.from_request(request), data=request.data)
        code = status.HTTP_201_CREATED if outcome.result == Result.CREATED else status.HTTP_200_OK
        return _detail_response(request, outcome.worker, code)


class WorkerDetailView(APIView):
    permission_classes = [RecordAccess]

    @extend_schema(responses={200: WorkerSerializer}, tags=["workers"])
    def get(self, request: Request, worker_id: str) -> Response:
        worker = selectors.worker_get(user=official(request), worker_id=worker_id)
        full = permissions.may_see_full_nik(official(request), worker.village_id)
        permissions.audit_view(Actor.from_request(request), worker, full_nik=full)
        return Response(worker_representation(worker, full_nik=full))

    @extend_schema(
        parameters=[IF_MATCH],
        request=WorkerInputSerializer,
        responses={200: WorkerSerializer},
        tags=["workers"],
        description="Changes some fields. A change that is already applied answers 200 without a new version.",
    )
    def patch(self, request: Request, worker_id: str) -> Response:
        patch = object_body(request)
        outcome = services.worker_update(
            actor=Actor.from_request(request), worker_id=worker_id, patch=patch, if_match=if_match_version(request)
        )
        return _detail_response(request, outcome.worker)

    @extend_schema(
        parameters=[IF_MATCH], responses={204: None}, tags=["workers"], description="Soft delete; repeatable."
    )
    def delete(self, request: Request, worker_id: str) -> Response:
        services.worker_delete(
            actor=Actor.from_request(request), worker_id=worker_id, if_match=if_match_version(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkerBulkView(APIView):
    permission_classes = [RecordAccess]

    @extend_schema(
        request=BulkInputSerializer,
        responses={200: BulkOutputSerializer},
        tags=["workers"],
        description=(
            "Creates or replaces up to 1,000 workers (full records). One result per record, in order: "
            "created, updated, unchanged or invalid with its error; one bad record never sinks the others. "
            "A record may carry `version` to refuse replacing a newer one (412 in its result)."
        ),
    )
    def post(self, request: Request) -> Response:
        records = bulk_records(request)
        refs = services.worker_refs(user=official(request), records=records)
        cleaned = [clean_worker(record, refs=refs) for record in records]
        outcomes = services.workers_save(actor=Actor.from_request(request), records=cleaned, mode=SaveMode.UPSERT)
        results = [outcome_representation(o, user=official(request)) for o in outcomes]
        summary = {result.value: 0 for result in Result}
        for outcome in outcomes:
            summary[outcome.result.value] += 1
        return Response({"results": results, "summary": summary})


class WorkerNikStatusView(APIView):
    permission_classes = [RecordAccess]

    @extend_schema(
        operation_id="workers_nik_status_create",
        parameters=[IF_MATCH],
        request=NikStatusInputSerializer,
        responses={200: WorkerSerializer},
        tags=["workers"],
        description=(
            "Sets where the person's NIK stands after a check with the civil registry: `unverified`, "
            "`verified`, `not_found` or `mismatch` (with a reason). `pending` is the status of a person "
            "without a NIK and only of them; it ends when a NIK is recorded. Audited; version + 1."
        ),
    )
    def post(self, request: Request, worker_id: str) -> Response:
        worker = nik_status.nik_status_set(
            actor=Actor.from_request(request),
            worker_id=worker_id,
            data=object_body(request),
            if_match=if_match_version(request),
        )
        return _detail_response(request, worker)
