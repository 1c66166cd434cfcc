"""Funding decrees (allocations): create, read, change. Supervisors and admins, in their areas.

The commitment itself is never written here: the database keeps it (enrolment.models,
FundingAllocation). Lowering a quota or an amount below what is committed is refused by the same
CHECK constraints, as 409 `allocation_exhausted`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid, IdempotencyKeyReused, NotFound, PreconditionFailed
from config.locks import lock_keys
from enrolment.errors import AllocationExhausted, overruns_allocation
from enrolment.models import FundingAllocation
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import Area, AuditAction, User
from villages.scope import scope_of
from workers.models import FundingSource

EDITABLE = ("funding_source_id", "area_id", "budget_year", "decree_number", "decree_date", "period_start",
            "period_end", "quota_workers", "amount_idr")  # fmt: skip


def allocations_visible(*, user: User) -> QuerySet[FundingAllocation]:
    return scope_of(user).filter(FundingAllocation.objects.all(), "area__code")


def allocation_get(*, user: User, allocation_id: str) -> FundingAllocation:
    allocation = allocations_visible(user=user).filter(id=allocation_id).first()
    if allocation is None:
        raise NotFound()
    return allocation


def allocation_list(
    *, user: User, area: str | None = None, budget_year: int | None = None, funding_source: str | None = None
) -> QuerySet[FundingAllocation]:
    allocations = allocations_visible(user=user)
    if area:
        allocations = allocations.filter(Q(area__code=area) | Q(area__code__startswith=area + "."))
    if budget_year:
        allocations = allocations.filter(budget_year=budget_year)
    if funding_source:
        allocations = allocations.filter(funding_source_id=funding_source)
    return allocations


def _values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Model values from validated input (the serializer checked shapes and ranges)."""
    values: dict[str, Any] = {}
    for name in ("budget_year", "decree_number", "decree_date", "period_start", "period_end", "quota_workers",
                 "amount_idr"):  # fmt: skip
        if name in data:
            values[name] = data[name]
    if "funding_source" in data:
        values["funding_source_id"] = data["funding_source"]
    if "area" in data:
        values["area_id"] = data["area"]
    return values


def _check(user: User, values: Mapping[str, Any]) -> None:
    errors: dict[str, list[Any]] = {}
    if not FundingSource.objects.filter(code=values["funding_source_id"]).exists():
        errors["funding_source"] = [_("Unknown funding source; see GET /api/v1/reference.")]
    if not Area.objects.filter(code=values["area_id"]).exists() or not scope_of(user).covers(values["area_id"]):
        errors["area"] = [_("No such area in your areas.")]
    start, end = values["period_start"], values["period_end"]
    if end < start:
        errors["period_end"] = [_("The period ends before it starts.")]
    elif start.year != values["budget_year"] and end.year != values["budget_year"]:
        errors["period_start"] = [_("The period must fall in the budget year.")]
    if errors:
        raise FieldsInvalid(fields=errors)


def _fingerprint(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: values.get(name) for name in EDITABLE}


@transaction.atomic
def allocation_create(*, actor: Actor, data: Mapping[str, Any]) -> tuple[FundingAllocation, bool]:
    """POST /funding/allocations: (allocation, created). Idempotent on the client `id`: the same
    id and body again answer the stored allocation; another body under it is 422."""
    assert actor.user is not None
    values = _values(data)
    _check(actor.user, values)
    allocation_id = data.get("id")
    if allocation_id:
        lock_keys("allocation", [allocation_id])
        stored = FundingAllocation.objects.filter(id=allocation_id).first()
        if stored is not None:
            if not scope_of(actor.user).covers(stored.area_id):
                raise NotFound()
            if _fingerprint({n: getattr(stored, n) for n in EDITABLE}) != _fingerprint(values):
                raise IdempotencyKeyReused()
            return stored, False
        values["id"] = allocation_id
    allocation = FundingAllocation(**values, created_by=actor.user)
    try:
        with transaction.atomic():
            allocation.save(force_insert=True)
    except IntegrityError as exc:
        raise FieldsInvalid(
            fields={"decree_number": [_("This decree is already recorded for this funder, area and year.")]}
        ) from exc
    audit_events(
        actor,
        [AuditEntry(AuditAction.CREATE, "allocation", allocation.id, allocation.area_id, None, _audit_values(values))],
    )
    return allocation, True


@transaction.atomic
def allocation_update(
    *, actor: Actor, allocation_id: str, data: Mapping[str, Any], if_match: int | None
) -> FundingAllocation:
    """PATCH /funding/allocations/{id} (If-Match honoured). A quota or amount below what is
    already committed is 409 `allocation_exhausted`."""
    assert actor.user is not None
    allocation = allocations_visible(user=actor.user).select_for_update().filter(id=allocation_id).first()
    if allocation is None:
        raise NotFound()
    if if_match is not None and if_match != allocation.version:
        raise PreconditionFailed(details={"current_version": allocation.version})
    values = {**{n: getattr(allocation, n) for n in EDITABLE}, **_values(data)}
    _check(actor.user, values)
    changes = {n: [_plain(getattr(allocation, n)), _plain(v)] for n, v in values.items() if getattr(allocation, n) != v}
    if not changes:
        return allocation
    for name, value in values.items():
        setattr(allocation, name, value)
    allocation.version += 1
    allocation.updated_at = timezone.now()
    try:
        with transaction.atomic():
            allocation.save(update_fields=[*EDITABLE, "version", "updated_at"])
    except IntegrityError as exc:
        if overruns_allocation(exc):
            raise AllocationExhausted(
                _("The decree already commits more than this."),
                details={"committed_workers": allocation.committed_workers, "committed_idr": allocation.committed_idr},
            ) from exc
        raise FieldsInvalid(
            fields={"decree_number": [_("This decree is already recorded for this funder, area and year.")]}
        ) from exc
    audit_events(actor, [AuditEntry(AuditAction.UPDATE, "allocation", allocation.id, allocation.area_id, changes)])
    return allocation


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _audit_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in values.items()}
