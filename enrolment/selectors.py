"""Reads of enrolments shared by views, reports, exports and sync."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from rest_framework import serializers

from enrolment.models import Enrolment, Status
from villages.models import User
from villages.scope import scope_of
from workers.nik import WARN_BIRTH_DATE_MISMATCH, WARN_REGION_UNKNOWN, WARN_SEX_MISMATCH, normalise_nik
from workers.validation import WARN_AGE_OUTSIDE_WINDOW, WARN_POSSIBLE_DUPLICATE

# What an operator can filter the queue on: the worker's (or enrolment's) warning codes, plus two
# shorthands: `nik_mismatch` (birth date or sex differs from the NIK) and `needs_correction`.
WARNING_FILTERS = {
    WARN_POSSIBLE_DUPLICATE: (WARN_POSSIBLE_DUPLICATE,),
    WARN_BIRTH_DATE_MISMATCH: (WARN_BIRTH_DATE_MISMATCH,),
    WARN_SEX_MISMATCH: (WARN_SEX_MISMATCH,),
    WARN_REGION_UNKNOWN: (WARN_REGION_UNKNOWN,),
    WARN_AGE_OUTSIDE_WINDOW: (WARN_AGE_OUTSIDE_WINDOW,),
    "nik_mismatch": (WARN_BIRTH_DATE_MISMATCH, WARN_SEX_MISMATCH),
    "needs_correction": (),
}


class EnrolmentFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=Status.choices, required=False)
    village = serializers.CharField(required=False, max_length=13)
    area = serializers.CharField(required=False, max_length=13)
    worker = serializers.CharField(required=False, max_length=64)
    funding_source = serializers.CharField(required=False, max_length=32)
    budget_year = serializers.IntegerField(required=False)
    updated_since = serializers.DateTimeField(required=False)
    needs_correction = serializers.BooleanField(required=False, allow_null=True, default=None)
    occupation = serializers.CharField(required=False, max_length=32, help_text="The worker's occupation code.")
    warning = serializers.MultipleChoiceField(
        choices=sorted(WARNING_FILTERS),
        required=False,
        help_text="Any of these warnings (repeat the parameter): the worker's or the enrolment's; "
        "`nik_mismatch` = birth date or sex differs from the NIK; `needs_correction` = either is flagged.",
    )
    q = serializers.CharField(required=False, max_length=100, help_text="Part of the worker's name, or a whole NIK.")
    expiring_within_days = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=366,
        help_text="Cover (verified, queued or active) ending within this many days, with no renewal yet: its "
        "decree's last month, or twelve months from coverage_start without a decree.",
    )


def _has_warning(field: str, code: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": [code]})
    return Q(**{f"{field}__icontains": f'"{code}"'})  # SQLite has no JSON containment


def warning_q(codes: set[str]) -> Q:
    """Enrolments whose worker or self carries any of the warning filters in `codes`."""
    condition = Q(pk__in=[])
    for name in codes:
        if name == "needs_correction":
            condition |= Q(needs_correction=True) | Q(worker__needs_correction=True)
        for code in WARNING_FILTERS[name]:
            condition |= _has_warning("worker__warnings", code) | _has_warning("warnings", code)
    return condition


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
    occupation: str | None = None,
    warning: set[str] | None = None,
    q: str | None = None,
    expiring_within_days: int | None = None,
) -> QuerySet[Enrolment]:
    """Live (not deleted) enrolments in the caller's areas, narrowed to `area` (404 outside)."""
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
    if occupation:
        enrolments = enrolments.filter(worker__occupation_id=occupation)
    if warning:
        enrolments = enrolments.filter(warning_q(set(warning)))
    if expiring_within_days is not None:
        enrolments = enrolments.filter(expiring_q(timezone.localdate(), expiring_within_days))
    if q:
        digits = normalise_nik(q)
        whole_nik = digits.isdigit() and len(digits) == 16
        enrolments = (
            enrolments.filter(worker__nik=digits) if whole_nik else enrolments.filter(worker__full_name__icontains=q)
        )
    return enrolments


def _month(day: dt.date, shift: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def expiring_q(today: dt.date, days: int) -> Q:
    """Cover ending between `today` and `today + days` with no renewal. A cover ends on the last
    day of its last month: the decree's `period_end`, or the eleventh month after coverage_start."""
    first = _month(today)  # the last month is this one or later: not ended yet
    beyond = _month(today + dt.timedelta(days=days + 1))  # the last month is before this one
    by_decree = Q(allocation__isnull=False, allocation__period_end__gte=first, allocation__period_end__lt=beyond)
    by_year = Q(allocation__isnull=True, coverage_start__gte=_month(first, -11), coverage_start__lt=_month(beyond, -11))
    return (by_decree | by_year) & Q(
        status__in=(Status.VERIFIED, Status.QUEUED, Status.ACTIVE), needs_correction=False, renewed_by__isnull=True
    )


def enrolment_get(*, user: User, enrolment_id: str) -> Enrolment:
    enrolment = (
        scope_of(user)
        .filter(Enrolment.objects.filter(id=enrolment_id, deleted_at__isnull=True), "village__code")
        .first()
    )
    if enrolment is None:
        raise Http404
    return enrolment
