"""The sync wire format in the OpenAPI schema (enrolment/sync/wire.py builds it), and the
query parameters. The records are documented field by field so app developers can generate their
WatermelonDB schema from it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from enrolment.sync.wire import SCHEMA_VERSION


class PullQuerySerializer(serializers.Serializer):
    last_pulled_at = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The `timestamp` of your last pull; absent, empty, `null` or 0 for everything.",
    )
    schema_version = serializers.IntegerField(
        required=False, min_value=1, help_text=f"Your app's schema version (this server speaks {SCHEMA_VERSION})."
    )

    def validate_last_pulled_at(self, value: str) -> int | None:
        if value in ("", "null", "0"):
            return None
        if not value.isdigit() or len(value) > 19:
            raise serializers.ValidationError(_("Send the timestamp of your last pull (a whole number) or null."))
        return int(value)


class WorkerRecordSerializer(serializers.Serializer):
    id = serializers.CharField()
    village = serializers.CharField()
    nik = serializers.CharField(
        help_text="Masked unless you may see it (field staff of its village). Empty: no NIK yet (pending)."
    )
    nik_status = serializers.CharField(
        read_only=True, help_text="unverified, verified, not_found, mismatch or pending. Server-owned."
    )
    nik_status_reason = serializers.CharField(read_only=True, help_text="Server-owned.")
    kk_number = serializers.CharField()
    full_name = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    birth_place = serializers.CharField()
    sex = serializers.CharField(help_text="M, F or empty.")
    phone = serializers.CharField(help_text="E.164.")
    address_street = serializers.CharField()
    address_dusun = serializers.CharField()
    address_rt = serializers.CharField()
    address_rw = serializers.CharField()
    occupation = serializers.CharField()
    kusuka_number = serializers.CharField()
    monthly_income = serializers.IntegerField(allow_null=True)
    mother_maiden_name = serializers.CharField()
    heirs = serializers.CharField(help_text="JSON: [{name, relationship, nik, phone}].")
    consent_given_at = serializers.DateTimeField(allow_null=True)
    consent_method = serializers.CharField()
    consent_recorded_by = serializers.CharField()
    # Optional on a push: an app from before privacy notices sends neither, and the server takes
    # the notice in force on the day of consent and its first purpose (workers/validation.py).
    consent_purpose = serializers.CharField(required=False, help_text="Absent: the notice's first purpose.")
    consent_notice_version = serializers.CharField(
        required=False, help_text="Absent: the privacy notice in force on the day of consent."
    )
    warnings = serializers.CharField(read_only=True, help_text="JSON: [code…]. Server-owned.")
    needs_correction = serializers.BooleanField(read_only=True, help_text="Server-owned.")
    errors = serializers.CharField(read_only=True, help_text='JSON: {"field": ["message"…]}. Server-owned.')  # type: ignore[assignment]  # a declared field, taken off the class by DRF's metaclass
    version = serializers.IntegerField(read_only=True, help_text="Server-owned.")
    created_at = serializers.IntegerField(read_only=True, help_text="Milliseconds since the epoch. Server-owned.")
    updated_at = serializers.IntegerField(read_only=True, help_text="Milliseconds since the epoch. Server-owned.")


class EnrolmentRecordSerializer(serializers.Serializer):
    id = serializers.CharField()
    worker = serializers.CharField()
    village = serializers.CharField(read_only=True, help_text="The worker's village. Server-owned.")
    segment = serializers.CharField(help_text="BPU or PU.")
    programs = serializers.CharField(help_text='JSON: ["JKK", "JKM"(, "JHT")].')
    funding_source = serializers.CharField()
    budget_year = serializers.IntegerField(allow_null=True)
    funding_decree = serializers.CharField()
    coverage_start = serializers.DateField(allow_null=True)
    payment_period_months = serializers.IntegerField()
    monthly_contribution = serializers.IntegerField(read_only=True, help_text="IDR. Server-owned.")
    annual_contribution = serializers.IntegerField(read_only=True, help_text="IDR. Server-owned.")
    status = serializers.CharField(help_text="A device may set draft or submitted; anything else is ignored.")
    status_reason = serializers.CharField(read_only=True, help_text="Server-owned.")
    registry_number = serializers.CharField(read_only=True, help_text="KPJ. Server-owned.")
    registry_status = serializers.CharField(read_only=True, help_text="Server-owned.")
    synced_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Server-owned.")
    warnings = serializers.CharField(read_only=True, help_text="JSON. Server-owned.")
    needs_correction = serializers.BooleanField(read_only=True, help_text="Server-owned.")
    errors = serializers.CharField(read_only=True, help_text="JSON. Server-owned.")  # type: ignore[assignment]  # a declared field, taken off the class by DRF's metaclass
    version = serializers.IntegerField(read_only=True, help_text="Server-owned.")
    created_at = serializers.IntegerField(read_only=True, help_text="Milliseconds since the epoch. Server-owned.")
    updated_at = serializers.IntegerField(read_only=True, help_text="Milliseconds since the epoch. Server-owned.")


class WorkerChangesSerializer(serializers.Serializer):
    created = WorkerRecordSerializer(many=True)
    updated = WorkerRecordSerializer(many=True)
    deleted = serializers.ListField(child=serializers.CharField())


class EnrolmentChangesSerializer(serializers.Serializer):
    created = EnrolmentRecordSerializer(many=True)
    updated = EnrolmentRecordSerializer(many=True)
    deleted = serializers.ListField(child=serializers.CharField())


class ChangesSerializer(serializers.Serializer):
    workers = WorkerChangesSerializer()
    enrolments = EnrolmentChangesSerializer()


class PullSerializer(serializers.Serializer):
    changes = ChangesSerializer()
    timestamp = serializers.IntegerField(help_text="The cursor to send as last_pulled_at next time (not a clock).")


class PushSerializer(serializers.Serializer):
    changes = ChangesSerializer(help_text="Any subset; unknown tables and keys are ignored.")


class AppliedSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    deleted = serializers.IntegerField()
    needs_correction = serializers.IntegerField(help_text="Stored, flagged with their errors (they come back on pull).")


class AppliedTablesSerializer(serializers.Serializer):
    workers = AppliedSerializer()
    enrolments = AppliedSerializer()


class QuarantinedSerializer(serializers.Serializer):
    table = serializers.CharField()
    id = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]  # a declared field, taken off the class by DRF's metaclass


class PushResultSerializer(serializers.Serializer):
    applied = AppliedTablesSerializer()
    quarantined = QuarantinedSerializer(
        many=True, help_text="Records the server could not store at all, kept for an operator to resolve."
    )
