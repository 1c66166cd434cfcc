"""Imports over HTTP: upload, follow the job, read its rows, download the template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import FieldsInvalid
from config.pagination import CursorPagination, paginated_response
from enrolment.imports import services
from enrolment.imports.models import ImportJob, ImportRow
from enrolment.imports.serializers import (
    ImportJobSerializer,
    ImportRowFilterSerializer,
    ImportRowSerializer,
    ImportUploadSerializer,
    import_job_representation,
    import_row_representation,
)
from enrolment.imports.template import template_csv, template_xlsx
from villages.audit import Actor
from villages.auth import official
from villages.permissions import role_in
from workers.permissions import audit_list

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _JobSerializer(ImportJobSerializer):
    def to_representation(self, instance: ImportJob) -> dict[str, Any]:
        return import_job_representation(instance)


class ImportListView(APIView):
    pagination_class = CursorPagination
    parser_classes = [MultiPartParser, FormParser]

    def get_permissions(self) -> list[BasePermission]:
        roles = services.IMPORT_ROLES if self.request.method == "POST" else services.READ_ROLES
        return [role_in(*roles)()]

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={202: ImportJobSerializer, 200: ImportJobSerializer},
        tags=["imports"],
        description=(
            "Uploads a CSV or XLSX file in the layout of the template (operators, admins) and queues it. "
            "Answers 202 with the job; follow it at GET /api/v1/imports/{id} and read every row's result at "
            "/rows. The same file sent again while its job is still queued or running answers 200 with that job. "
            "`dry_run=true` checks and reports every row and stores nothing. Row messages are in this "
            "request's language."
        ),
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise FieldsInvalid(fields={"file": [ImportUploadSerializer().fields["file"].error_messages["required"]]})
        form = request.data if isinstance(request.data, Mapping) else {}
        dry_run = services.import_dry_run_flag(form.get("dry_run", request.query_params.get("dry_run")))
        job, created = services.import_create(
            actor=Actor.from_request(request), upload=upload, dry_run=dry_run, language=translation.get_language()
        )
        job.refresh_from_db()
        return Response(
            import_job_representation(job), status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )

    @extend_schema(responses={200: ImportJobSerializer(many=True)}, tags=["imports"])
    def get(self, request: Request) -> Response:
        jobs = services.import_jobs_visible(user=official(request))
        return paginated_response(
            view=self, request=request, queryset=jobs, serializer_class=_JobSerializer, ordering="-created_at"
        )


class ImportDetailView(APIView):
    permission_classes = [role_in(*services.READ_ROLES)]

    @extend_schema(responses={200: ImportJobSerializer}, tags=["imports"])
    def get(self, request: Request, job_id: str) -> Response:
        return Response(import_job_representation(services.import_job_get(user=official(request), job_id=job_id)))


class ImportRetryView(APIView):
    permission_classes = [role_in(*services.IMPORT_ROLES)]

    @extend_schema(
        request=None,
        responses={
            202: ImportJobSerializer,
            200: ImportJobSerializer,
            409: OpenApiResponse(
                description="`import_not_retryable`: the job completed; `import_file_gone`: upload the file again"
            ),
        },
        tags=["imports"],
        description=(
            "Starts a failed job again (operators, admins) with its stored file: it resumes after the rows it had "
            "committed. 202 with the job; a job still queued or running answers 200 as it is. A job whose file "
            "could not be read, or whose file is no longer kept, is 409 `import_file_gone`: upload the file again "
            "(the same file uploaded again also restarts a failed job)."
        ),
    )
    def post(self, request: Request, job_id: str) -> Response:
        job, retried = services.import_job_retry(actor=Actor.from_request(request), job_id=job_id)
        job.refresh_from_db()
        return Response(
            import_job_representation(job), status=status.HTTP_202_ACCEPTED if retried else status.HTTP_200_OK
        )


class ImportRowsView(APIView):
    pagination_class = CursorPagination
    permission_classes = [role_in(*services.READ_ROLES)]

    @extend_schema(
        parameters=[ImportRowFilterSerializer],
        responses={200: ImportRowSerializer(many=True)},
        tags=["imports"],
        description="Every data row's result, in file order (cursor-paginated); `result=invalid` for the problems.",
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = services.import_job_get(user=official(request), job_id=job_id)
        filters = ImportRowFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = ImportRow.objects.filter(job=job)
        if "result" in filters.validated_data:
            rows = rows.filter(result=filters.validated_data["result"])
        paginator = CursorPagination()
        paginator.ordering = "row_number"
        page = paginator.paginate_queryset(rows, request, view=self)
        audit_list(
            Actor.from_request(request),
            "import_row",
            count=len(page),
            filters=filters.validated_data,
            object_id=str(job.id),
            area_code=job.area_code,
            people=((r.worker_id, job.area_code) for r in page if r.worker_id and not job.dry_run),
        )
        return paginator.get_paginated_response([import_row_representation(row) for row in page])


class ImportTemplateView(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={(200, XLSX_TYPE): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.BINARY},
        tags=["imports"],
        description="The blank import template in Indonesian: XLSX (columns, instructions, codes) or CSV (header).",
    )
    def get(self, request: Request, file_format: str) -> HttpResponse:
        if file_format == "xlsx":
            body, content_type = template_xlsx(), XLSX_TYPE
        else:
            body, content_type = template_csv(), "text/csv; charset=utf-8"
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="template-impor-peserta.{file_format}"'
        return response
