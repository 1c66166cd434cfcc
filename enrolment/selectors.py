"""Reads of enrolments shared by views, reports, exports and sync."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import Http404
from rest_framework import serializers

from enrolment.models import Enrolment, Status
from villages.models import User
from villages.scope import scope_of


class EnrolmentFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=Status.choices, required=False)
    village = serializers.CharField(required=False, max_length=13)
    area = serializers.CharField(required=False, max_length=13)
    worker = serializers.CharField(required=False, max_length=64)
    funding_source = serializers.CharField(required=False, max_length=32)
    budget_year = serializers.IntegerField(required=False)
    updated_since = serializers.DateTimeField(required=False)
    needs_correction = serializers.BooleanField(required=False, allow_null=True, default=None)


def enrolment_list(
    *,
    user: User,
    status: set[str] | None = None,
    village: str | None = None,
    area: str | None = None,
    worker: str | None = None,
    funding_source: str | None = None,
    budget_year: int | None = None,
    updated_since: dt.datetime | None = None,
    needs_correction: bool | None = None,
) -> QuerySet[Enrolment]:
    scope = scope_of(user)
    if area:
        scope = scope.within(area)
    enrolments = scope.filter(Enrolment.objects.filter(deleted_at__isnull=True), "village__code")
    if status:
        enrolments = enrolments.filter(status__in=status)
    if village:
        enrolments = enrolments.filter(village_id=village)
    if worker:
        enrolments = enrolments.filter(worker_id=worker)
    if funding_source:
        enrolments = enrolments.filter(funding_source_id=funding_source)
    if budget_year:
        enrolments = enrolments.filter(budget_year=budget_year)
    if updated_since:
        enrolments = enrolments.filter(updated_at__gte=updated_since)
    if needs_correction is not None:
        enrolments = enrolments.filter(needs_correction=needs_correction)
    return enrolments


def enrolment_get(*, user: User, enrolment_id: str) -> Enrolment:
    enrolment = (
        scope_of(user)
        .filter(Enrolment.objects.filter(id=enrolment_id, deleted_at__isnull=True), "village__code")
        .first()
    )
    if enrolment is None:
        raise Http404
    return enrolment
