"""Reads of likely-duplicate pairs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from villages.audit import mask_nik
from villages.models import User
from villages.scope import scope_of
from workers.models import DuplicatePair, Worker


def duplicate_list(*, user: User, status: str | None = None, area: str | None = None) -> QuerySet[DuplicatePair]:
    """Pairs whose two records are both in the caller's areas (narrowed to `area`: both records
    under it; 404 outside the caller's areas). A pair with one record elsewhere is not listed:
    that village only sees its record's `possible_duplicate` warning."""
    scope = scope_of(user)
    if area:
        scope = scope.within(area)
    pairs = DuplicatePair.objects.select_related("a", "b").filter(
        scope.q("a__village__code"), scope.q("b__village__code")
    )
    if status:
        pairs = pairs.filter(status=status)
    return pairs


def _summary(worker: Worker) -> dict[str, Any]:
    """Enough to tell two records apart in a list; the NIK masked, as in every list."""
    return {
        "id": worker.id,
        "full_name": worker.full_name,
        "birth_date": worker.birth_date.isoformat() if worker.birth_date else None,
        "village": worker.village_id,
        "nik": mask_nik(worker.nik),
        "needs_correction": worker.needs_correction,
    }


def pair_representation(pair: DuplicatePair) -> dict[str, Any]:
    return {
        "id": pair.pk,
        "a": _summary(pair.a),
        "b": _summary(pair.b),
        "score": pair.score,
        "reasons": list(pair.reasons),
        "status": pair.status,
        "found_at": pair.found_at.isoformat(),
        "resolved_at": pair.resolved_at.isoformat() if pair.resolved_at else None,
        "resolution_reason": pair.resolution_reason,
        "survivor": pair.survivor_id,
    }
