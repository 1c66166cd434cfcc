"""The export's query."""

from __future__ import annotations

from rest_framework import serializers

from enrolment.models import Status


class ExportQuerySerializer(serializers.Serializer):
    area = serializers.CharField(required=False, max_length=13, help_text="Default: all your areas.")
    full_nik = serializers.BooleanField(
        required=False, default=False, help_text="Workers only, village operators only: NIKs unmasked."
    )
    status = serializers.MultipleChoiceField(choices=Status.choices, required=False, help_text="Enrolments only.")
    budget_year = serializers.IntegerField(required=False, help_text="Enrolments only.")
