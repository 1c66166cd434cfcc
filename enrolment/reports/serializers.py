"""The coverage report's shapes: its query, and its answer as the OpenAPI schema describes it."""

from __future__ import annotations

from rest_framework import serializers

from enrolment.reports import coverage


class CoverageQuerySerializer(serializers.Serializer):
    area = serializers.CharField(
        required=False,
        max_length=13,
        help_text="Any area you may see whole. Default: your one assigned area; for an admin, the whole country.",
    )
    year = serializers.IntegerField(
        required=False, min_value=2000, max_value=2100, help_text="Budget year; default the current year."
    )
    group_by = serializers.ChoiceField(
        choices=coverage.COUNTRY_GROUP_LEVELS,
        required=False,
        help_text="Default: the level below the area. province: the country report only.",
    )


class CoverageRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()
    target_workers = serializers.IntegerField(
        allow_null=True, help_text="The area's target for the year, else the sum of the nearest targets below it."
    )
    budget_idr = serializers.IntegerField(allow_null=True, help_text="Same rule as target_workers.")
    registered_workers = serializers.IntegerField(help_text="Workers not deleted, living in the area now.")
    workers_needing_correction = serializers.IntegerField()
    live_enrolments = serializers.IntegerField(
        help_text="The year's enrolments in draft, submitted, verified, queued or active; not flagged."
    )
    active_enrolments = serializers.IntegerField(help_text="Live and active (a KPJ number): people covered.")
    coverage_percent = serializers.FloatField(
        allow_null=True, help_text="active_enrolments / target_workers x 100, two decimals (half up)."
    )
    monthly_contribution_idr = serializers.IntegerField(help_text="Sum over live enrolments, first month.")
    annual_contribution_idr = serializers.IntegerField(help_text="Sum over live enrolments, twelve months.")
    allocated_idr = serializers.IntegerField(help_text="The year's funding decrees in the area: their amounts.")
    committed_idr = serializers.IntegerField(
        help_text="What those decrees commit: annual amounts of their verified, queued and active enrolments."
    )
    by_status = serializers.DictField(child=serializers.IntegerField(), help_text="The year's enrolments.")
    by_occupation = serializers.DictField(child=serializers.IntegerField(), help_text="Registered workers.")
    by_funding_source = serializers.DictField(child=serializers.IntegerField(), help_text="Live enrolments.")


class CoverageAreaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()


class CoverageReportSerializer(serializers.Serializer):
    area = CoverageAreaSerializer()
    year = serializers.IntegerField()
    group_by = serializers.CharField()
    generated_at = serializers.DateTimeField()
    total = CoverageRowSerializer()
    results = CoverageRowSerializer(many=True)
