"""Reads of workers shared by views, exports, reports and sync."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.errors import NotFound
from config.pii import blind_index
from villages.models import User
from villages.scope import scope_of
from workers.models import NikStatus, Worker
from workers.nik import normalise_nik
from workers.permissions import filters_for_audit as filters_for_audit  # the audit rule's home
from workers.permissions import is_nik_like as is_nik_like


class WorkerFilterSerializer(serializers.Serializer):
    village = serializers.CharField(required=False, max_length=13)
    area = serializers.CharField(required=False, max_length=13, help_text="Any area code; its subtree.")
    occupation = serializers.CharField(required=False, max_length=32)
    q = serializers.CharField(required=False, max_length=100, help_text="Part of a name, or a whole NIK.")
    updated_since = serializers.DateTimeField(required=False)
    needs_correction = serializers.BooleanField(required=False, allow_null=True, default=None)
    nik_status = serializers.CharField(
        required=False,
        max_length=60,
        help_text="One status or a comma list, e.g. pending,not_found,mismatch (the people to follow up).",
    )

    def validate_nik_status(self, value: str) -> list[str]:
        wanted = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [part for part in wanted if part not in NikStatus.values]
        if not wanted or unknown:
            raise serializers.ValidationError(
                _("Choose from: %(choices)s.") % {"choices": ", ".join(NikStatus.values)}, code="invalid"
            )
        return wanted


def worker_list(
    *,
    user: User,
    village: str | None = None,
    area: str | None = None,
    occupation: str | None = None,
    q: str | None = None,
    updated_since: dt.datetime | None = None,
    needs_correction: bool | None = None,
    nik_status: list[str] | None = None,
) -> QuerySet[Worker]:
    """Live workers in the caller's areas (narrowed to `area` if given: 404 outside)."""
    scope = scope_of(user)
    if area:
        scope = scope.within(area)
    workers = scope.filter(Worker.objects.filter(deleted_at__isnull=True), "village__code").select_related("created_by")
    if village:
        workers = workers.filter(village_id=village)
    if occupation:
        workers = workers.filter(occupation_id=occupation)
    if q:
        by_nik = workers_by_nik(workers, q)
        workers = by_nik if by_nik is not None else workers.filter(Q(full_name__icontains=q))
    if updated_since:
        workers = workers.filter(updated_at__gte=updated_since)
    if needs_correction is not None:
        workers = workers.filter(needs_correction=needs_correction)
    if nik_status:
        workers = workers.filter(nik_status__in=nik_status)
    return workers


def workers_by_nik(workers: QuerySet[Any], q: str, *, path: str = "") -> QuerySet[Any] | None:
    """`workers` narrowed to the person whose whole NIK `q` is, through the blind index (the NIK
    itself is encrypted: no scan, no decryption); None when `q` is not a whole NIK. `path` leads
    from the queryset's model to the worker ("worker__" for enrolments). The API's search and
    the admin's use this."""
    digits = normalise_nik(q)
    if not (digits.isdigit() and len(digits) == 16):
        return None
    return workers.filter(**{f"{path}nik_bi": blind_index(digits, purpose="nik")})


def worker_get(*, user: User, worker_id: str) -> Worker:
    """A live worker in the caller's areas; Http404 otherwise (NotFound with
    `details.merged_into` for a merged record whose survivor the caller sees)."""
    worker = (
        scope_of(user)
        .filter(Worker.objects.filter(id=worker_id, deleted_at__isnull=True), "village__code")
        .select_related("created_by")
        .first()
    )
    if worker is None:
        _raise_if_merged(user, worker_id)
        raise Http404
    return worker


def _raise_if_merged(user: User, worker_id: str) -> None:
    """A record merged into another answers 404 naming the survivor, when the caller sees it."""
    merged = (
        Worker.objects.filter(id=worker_id, merged_into__isnull=False)
        .values_list("merged_into_id", "merged_into__village_id")
        .first()
    )
    if merged is not None and scope_of(user).covers(merged[1]):
        raise NotFound(details={"merged_into": merged[0]})
