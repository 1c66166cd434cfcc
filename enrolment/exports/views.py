"""Exports over HTTP: parse the query, prepare (scoped, audited), stream."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from enrolment.exports import services as exports
from enrolment.exports.serializers import ExportQuerySerializer
from villages.audit import Actor
from villages.models import Role
from villages.permissions import role_in

EXPORT_ROLES = (Role.VILLAGE_OPERATOR, Role.SUPERVISOR)


class ExportView(APIView):
    permission_classes = [role_in(*EXPORT_ROLES)]
    replica_reads = True  # GET reads may go to the replica (config/replicas.py)

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
