"""Likely duplicates over HTTP (API.md "Data quality"). Thin: parse, call, represent."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.pagination import CursorPagination
from villages.audit import Actor
from villages.auth import official
from villages.models import Role
from villages.permissions import role_in
from workers import permissions
from workers.duplicates import selectors, services
from workers.models import DuplicateStatus
from workers.serializers import worker_representation

ReviewAccess = role_in(Role.VILLAGE_OPERATOR, Role.SUPERVISOR)

SUMMARY = inline_serializer(
    "DuplicateRecord",
    {
        "id": serializers.CharField(),
        "full_name": serializers.CharField(),
        "birth_date": serializers.DateField(allow_null=True),
        "village": serializers.CharField(),
        "nik": serializers.CharField(help_text="Masked."),
        "needs_correction": serializers.BooleanField(),
    },
)
PAIR = inline_serializer(
    "DuplicatePair",
    {
        "id": serializers.IntegerField(),
        "a": SUMMARY,
        "b": SUMMARY,
        "score": serializers.FloatField(),
        "reasons": serializers.ListField(child=serializers.CharField()),
        "status": serializers.ChoiceField(choices=DuplicateStatus.choices),
        "found_at": serializers.DateTimeField(),
        "resolved_at": serializers.DateTimeField(allow_null=True),
        "resolution_reason": serializers.CharField(),
        "survivor": serializers.CharField(allow_null=True),
    },
)


class DuplicateFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DuplicateStatus.choices, required=False)
    area = serializers.CharField(required=False, max_length=13, help_text="Both records under this area.")


class MergeSerializer(serializers.Serializer):
    keep = serializers.CharField(max_length=64, help_text="The id of the record that survives.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # `fields` is read here: as a declared field its name would shadow Serializer.fields.
        chosen = self.initial_data.get("fields", {}) if isinstance(self.initial_data, dict) else None
        if not isinstance(chosen, dict) or not all(isinstance(v, str) for v in chosen.values()):
            raise serializers.ValidationError({"fields": [_("An object of field name → record id.")]})
        return {**attrs, "fields": chosen}


MERGE_REQUEST = inline_serializer(
    "DuplicateMerge",
    {
        "keep": serializers.CharField(help_text="The id of the record that survives."),
        "fields": serializers.DictField(
            child=serializers.CharField(),
            required=False,
            help_text="Field → the id of the record whose value the survivor takes (address and consent whole).",
        ),
    },
)


class DismissSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=False)


class DuplicateListView(APIView):
    pagination_class = CursorPagination  # read by the schema (config/pagination.py)
    permission_classes = [ReviewAccess]

    @extend_schema(
        parameters=[DuplicateFilterSerializer],
        responses={200: type(PAIR)(many=True)},
        tags=["duplicates"],
        description="Likely duplicates whose two records are both in your areas. Cursor-paginated by id.",
    )
    def get(self, request: Request) -> Response:
        filters = DuplicateFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        pairs = selectors.duplicate_list(user=official(request), **filters.validated_data)
        paginator = CursorPagination()
        paginator.ordering = "id"
        page = paginator.paginate_queryset(pairs, request, view=self)
        permissions.audit_list(
            Actor.from_request(request),
            "duplicate_pair",
            count=len(page),
            filters=filters.validated_data,
            people=[pair for p in page for pair in ((p.a_id, p.a.village_id), (p.b_id, p.b.village_id))],
        )
        return paginator.get_paginated_response([selectors.pair_representation(p) for p in page])


class DuplicateMergeView(APIView):
    permission_classes = [ReviewAccess]

    @extend_schema(
        request=MERGE_REQUEST,
        responses={200: dict},
        tags=["duplicates"],
        description=(
            "Merges the pair into `keep`: the survivor takes the named fields from the other record, which "
            "becomes a tombstone with `merged_into`; its enrolments move. 409 `duplicate_resolved`, "
            "`merge_both_enrolled`, `nik_locked`."
        ),
    )
    def post(self, request: Request, pair_id: int) -> Response:
        body = MergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        survivor = services.duplicate_merge(
            actor=Actor.from_request(request),
            pair_id=pair_id,
            keep=body.validated_data["keep"],
            fields=body.validated_data["fields"],
        )
        full = permissions.may_see_full_nik(official(request), survivor.village_id)
        return Response(worker_representation(survivor, full_nik=full))


class DuplicateDismissView(APIView):
    permission_classes = [ReviewAccess]

    @extend_schema(
        request=DismissSerializer,
        responses={200: PAIR},
        tags=["duplicates"],
        description="Not one person: never flagged again.",
    )
    def post(self, request: Request, pair_id: int) -> Response:
        body = DismissSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pair = services.duplicate_dismiss(
            actor=Actor.from_request(request), pair_id=pair_id, reason=body.validated_data["reason"]
        )
        return Response(selectors.pair_representation(pair))


class LookupSerializer(serializers.Serializer):
    nik = serializers.CharField(required=False, allow_blank=True, max_length=40)
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    birth_date = serializers.DateField(required=False, allow_null=True)
    village = serializers.CharField(required=False, allow_blank=True, max_length=13)
    mother_maiden_name = serializers.CharField(required=False, allow_blank=True, max_length=150)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("nik") and not (attrs.get("full_name") and attrs.get("birth_date")):
            raise serializers.ValidationError(_("Send a NIK, or a full name with a birth date."))
        return attrs


LOOKUP_RESPONSE = inline_serializer(
    "WorkerLookup",
    {
        "matches": inline_serializer(
            "WorkerLookupMatch",
            {
                "scope": serializers.ChoiceField(choices=["here", "elsewhere"]),
                "worker": serializers.DictField(required=False, help_text="Only for a record in your areas."),
                "score": serializers.FloatField(required=False),
                "reasons": serializers.ListField(child=serializers.CharField(), required=False),
            },
            many=True,
        )
    },
)


class WorkerLookupView(APIView):
    permission_classes = [role_in(Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.SUPERVISOR)]

    @extend_schema(
        request=LookupSerializer,
        responses={200: LOOKUP_RESPONSE},
        tags=["workers"],
        description=(
            "Is this person already registered? Likely matches in your areas with score and reasons; a match "
            'outside them is one `{"scope": "elsewhere"}` and nothing more.'
        ),
    )
    def post(self, request: Request) -> Response:
        body = LookupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = official(request)
        matches = selectors.worker_lookup(user=user, **body.validated_data)
        answer: list[dict[str, Any]] = []
        for match in matches:
            if match.worker is None:
                answer.append({"scope": "elsewhere"})
                continue
            full = permissions.may_see_full_nik(user, match.worker.village_id)
            answer.append(
                {
                    "scope": "here",
                    "worker": worker_representation(match.worker, full_nik=full),
                    "score": match.score,
                    "reasons": list(match.reasons),
                }
            )
        permissions.audit_list(
            Actor.from_request(request),
            "worker",
            count=sum(1 for m in matches if m.worker),
            filters={},
            lookup=True,
            people=((m.worker.id, m.worker.village_id) for m in matches if m.worker),
        )
        return Response({"matches": answer})
