"""The coverage report over HTTP (the regency and province offices, and the panel)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enrolment.reports import coverage
from enrolment.reports.serializers import CoverageQuerySerializer, CoverageReportSerializer
from villages.auth import official
from villages.models import Role
from villages.permissions import role_in

REPORT_ROLES = (Role.VILLAGE_OPERATOR, Role.SUPERVISOR, Role.VIEWER)


class CoverageReportView(APIView):
    permission_classes = [role_in(*REPORT_ROLES)]
    replica_reads = True  # GET reads may go to the replica (config/replicas.py)

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
            user=official(request),
            area=query.validated_data.get("area"),
            year=query.validated_data.get("year"),
            group_by=query.validated_data.get("group_by"),
        )
        return Response(report)
