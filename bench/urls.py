"""The service's URLs plus a plain-DRF bulk endpoint, the baseline of bench/bulk_ingest.py.

The baseline is what a first version would do: a ModelSerializer(many=True) over the flat model
fields, then one bulk_create. No NIK rules, no scoping, no duplicate answer, no audit.
"""

from typing import Any

from django.urls import path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as service_urls
from workers.models import Worker


class PlainWorkerSerializer(serializers.ModelSerializer):
    heirs = serializers.JSONField()  # an encrypted JSON column: DRF would take it for text

    class Meta:
        model = Worker
        fields = [
            "id", "village", "nik", "kk_number", "full_name", "birth_date", "birth_place", "sex", "phone",
            "address_street", "address_dusun", "address_rt", "address_rw", "occupation", "monthly_income",
            "mother_maiden_name", "heirs", "consent_given_at", "consent_method", "consent_recorded_by",
        ]  # fmt: skip


class PlainBulkView(APIView):
    def post(self, request: Request) -> Response:
        serializer = PlainWorkerSerializer(data=request.data["records"], many=True)
        serializer.is_valid(raise_exception=True)
        Worker.objects.bulk_create([Worker(**row) for row in serializer.validated_data])
        return Response({"created": len(serializer.validated_data)})

    def get_serializer_context(self) -> dict[str, Any]:
        return {}


urlpatterns = [*service_urls, path("bench/plain-bulk", PlainBulkView.as_view())]
