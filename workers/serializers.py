"""Worker shapes on the wire.

Output is built by plain functions (lists send up to 500 records, bulk answers 1,000); the DRF
serializers below describe the same shapes for the OpenAPI schema and wrap those functions.
Input is cleaned by `workers.validation.clean_worker` inside the services.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.errors import envelope
from config.formats import iso_date, iso_datetime
from villages.audit import mask_nik
from villages.models import User
from workers.models import ConsentMethod, HeirRelationship, NikStatus, Sex, Worker
from workers.permissions import may_see_full_nik as may_see_full_nik  # its home is workers.permissions
from workers.services import SaveOutcome


def worker_representation(worker: Worker, *, full_nik: bool) -> dict[str, Any]:
    show = (lambda value: value) if full_nik else mask_nik
    return {
        "id": worker.id,
        "nik": show(worker.nik),
        "nik_status": worker.nik_status,
        "nik_status_reason": worker.nik_status_reason,
        "kk_number": show(worker.kk_number),
        "full_name": worker.full_name,
        "birth_date": iso_date(worker.birth_date),
        "birth_place": worker.birth_place,
        "sex": worker.sex or None,
        "phone": worker.phone,
        "village": worker.village_id,
        "address": worker.address(),
        "occupation": worker.occupation_id,
        "kusuka_number": worker.kusuka_number,
        "monthly_income": worker.monthly_income,
        "mother_maiden_name": worker.mother_maiden_name,
        "heirs": [{**heir, "nik": show(heir.get("nik", ""))} for heir in worker.heirs],
        "consent": worker.consent(),
        "warnings": list(worker.warnings),
        "needs_correction": worker.needs_correction,
        "errors": dict(worker.errors),
        "version": worker.version,
        "created_at": iso_datetime(worker.created_at),
        "updated_at": iso_datetime(worker.updated_at),
        "created_by": worker.created_by.username if worker.created_by_id and worker.created_by else None,
        "deleted": worker.deleted_at is not None,
    }


def outcome_representation(outcome: SaveOutcome, *, user: User) -> dict[str, Any]:
    """One record's result in a bulk answer."""
    body: dict[str, Any] = {"id": outcome.id, "result": outcome.result.value}
    if outcome.error is not None:
        body["error"] = envelope(outcome.error.code, outcome.error.message, outcome.error.details)["error"]
    elif outcome.worker is not None:
        body["version"] = outcome.worker.version
        body["warnings"] = list(outcome.worker.warnings)
        body["needs_correction"] = outcome.worker.needs_correction
    return body


# --- schema descriptions -------------------------------------------------------------------------


class AddressSerializer(serializers.Serializer):
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    dusun = serializers.CharField(max_length=100, required=False, allow_blank=True)
    rt = serializers.CharField(max_length=3, required=False, allow_blank=True)
    rw = serializers.CharField(max_length=3, required=False, allow_blank=True)


class HeirSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    relationship = serializers.ChoiceField(choices=HeirRelationship.choices)
    nik = serializers.CharField(
        required=False, allow_blank=True, help_text="16 digits; masked in output like the worker's."
    )
    phone = serializers.CharField(required=False, allow_blank=True)


class ConsentSerializer(serializers.Serializer):
    given_at = serializers.DateTimeField()
    method = serializers.ChoiceField(choices=ConsentMethod.choices)
    recorded_by = serializers.CharField(required=False, allow_blank=True, help_text="Defaults to the caller.")
    purpose = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="One of the notice's purposes (GET /api/v1/reference `privacy_notices`); defaults to its first.",
    )
    notice_version = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The privacy notice read out; defaults to the one in force on the day of consent.",
    )


class WorkerInputSerializer(serializers.Serializer):
    """A worker as clients send it (POST; PATCH sends any subset)."""

    id = serializers.RegexField(
        r"^[A-Za-z0-9_-]{1,64}$", required=False, help_text="Client-generated; the server makes one when absent."
    )
    version = serializers.IntegerField(required=False, help_text="Bulk only: the version the change is based on.")
    nik = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="16 digits; spaces, dots and dashes are stripped. Empty for a person without a NIK yet "
        "(registered as `nik_status: pending`; their enrolments cannot be submitted).",
    )
    kk_number = serializers.CharField(required=False, allow_blank=True)
    full_name = serializers.CharField(max_length=150, help_text="As typed; one word is fine.")
    birth_date = serializers.DateField()
    birth_place = serializers.CharField(required=False, allow_blank=True)
    sex = serializers.ChoiceField(choices=Sex.choices)
    phone = serializers.CharField(
        required=False, allow_blank=True, help_text="0812…, +62 812… or 62812…; stored E.164."
    )
    village = serializers.CharField(help_text="Kemendagri village code, e.g. 17.04.01.2001.")
    address = AddressSerializer(required=False)
    occupation = serializers.CharField(help_text="An occupation code from GET /api/v1/reference.")
    kusuka_number = serializers.CharField(required=False, allow_blank=True)
    monthly_income = serializers.IntegerField(required=False, allow_null=True, min_value=0, help_text="IDR")
    mother_maiden_name = serializers.CharField(required=False, allow_blank=True)
    heirs = HeirSerializer(many=True, required=False)
    consent = ConsentSerializer(required=False, allow_null=True)


class WorkerSerializer(serializers.Serializer):
    """A worker as the API returns it. NIK, KK and heirs' NIKs are masked (`1704********0001`)
    except for field officers and operators of the worker's own village on a single record."""

    id = serializers.CharField()
    nik = serializers.CharField()
    nik_status = serializers.ChoiceField(
        choices=NikStatus.choices, help_text="Set by the registry's answers and operators; `pending`: no NIK yet."
    )
    nik_status_reason = serializers.CharField(help_text="Why the NIK is not_found, mismatch or pending; else ''.")
    kk_number = serializers.CharField()
    full_name = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    birth_place = serializers.CharField()
    sex = serializers.ChoiceField(choices=Sex.choices, allow_null=True)
    phone = serializers.CharField()
    village = serializers.CharField()
    address = AddressSerializer()
    occupation = serializers.CharField(allow_null=True)
    kusuka_number = serializers.CharField()
    monthly_income = serializers.IntegerField(allow_null=True)
    mother_maiden_name = serializers.CharField()
    heirs = HeirSerializer(many=True)
    consent = ConsentSerializer(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())
    needs_correction = serializers.BooleanField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]  # a declared field, taken off the class by DRF's metaclass
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    deleted = serializers.BooleanField()

    def to_representation(self, instance: Worker) -> dict[str, Any]:
        return worker_representation(instance, full_nik=self.context.get("full_nik", False))


class NikStatusInputSerializer(serializers.Serializer):
    nik_status = serializers.ChoiceField(choices=["unverified", "verified", "not_found", "mismatch", "pending"])
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Kept for not_found, mismatch and pending."
    )


class BulkInputSerializer(serializers.Serializer):
    records = serializers.ListField(child=serializers.DictField(), max_length=1000)


class BulkErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class BulkResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    result = serializers.ChoiceField(choices=["created", "updated", "unchanged", "invalid"])
    version = serializers.IntegerField(required=False)
    warnings = serializers.ListField(child=serializers.CharField(), required=False)
    needs_correction = serializers.BooleanField(required=False)
    error = BulkErrorSerializer(required=False)


class BulkOutputSerializer(serializers.Serializer):
    results = BulkResultSerializer(many=True)
    summary = serializers.DictField(child=serializers.IntegerField())
