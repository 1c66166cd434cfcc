"""Reads of likely-duplicate pairs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from villages.audit import mask_nik
from villages.models import User
from villages.scope import scope_of
from workers.duplicates.finder import find_matches
from workers.duplicates.scoring import Person
from workers.models import DuplicatePair, DuplicateStatus, Worker
from workers.nik import normalise_nik

LOOKUP_ID = "?lookup"  # the question among the finder's records: "?" is in no client id


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


def duplicates_elsewhere(*, user: User) -> list[Worker]:
    """The caller's records with an open pair whose other record it does not see: all a village
    learns of such a pair is that a possible duplicate exists elsewhere (nothing of the other)."""
    scope = scope_of(user)
    pairs = DuplicatePair.objects.filter(status=DuplicateStatus.OPEN).filter(
        (scope.q("a__village__code") & ~scope.q("b__village__code"))
        | (scope.q("b__village__code") & ~scope.q("a__village__code"))
    )
    ids = {a if scope.covers(va) else b for a, b, va in pairs.values_list("a_id", "b_id", "a__village_id")}
    return list(
        Worker.objects.filter(id__in=ids, deleted_at__isnull=True).select_related("village").order_by("full_name", "id")
    )


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


@dataclass(frozen=True)
class LookupMatch:
    """One answer of "is this person already registered?": a visible worker with its score and
    reasons, or (worker None) the bare fact that someone likely matching lives elsewhere."""

    worker: Worker | None
    score: float = 0.0
    reasons: tuple[str, ...] = ()


def worker_lookup(
    *,
    user: User,
    nik: str = "",
    full_name: str = "",
    birth_date: dt.date | None = None,
    village: str = "",
    mother_maiden_name: str = "",
) -> list[LookupMatch]:
    """Likely matches of a person about to be registered, best first, by the finder's own search
    and scores. Records in the caller's areas come with their score and reasons; all those
    elsewhere collapse into one `LookupMatch(worker=None)` with nothing about them."""
    probe = Person(
        id=LOOKUP_ID,
        village_id=village,
        nik=normalise_nik(nik) if nik else "",
        full_name=full_name,
        birth_date=birth_date,
        mother_maiden_name=mother_maiden_name,
    )
    found = {w: s for w, s in find_matches([probe]).of(LOOKUP_ID).items() if w != LOOKUP_ID}
    if not found:
        return []
    scope = scope_of(user)
    workers = {w.id: w for w in Worker.objects.filter(id__any=set(found), deleted_at__isnull=True)}
    here = sorted(
        (
            LookupMatch(w, found[w.id].score, found[w.id].reasons)
            for w in workers.values()
            if scope.covers(w.village_id)
        ),
        key=lambda m: (-m.score, m.worker.id if m.worker else ""),
    )
    elsewhere = any(not scope.covers(w.village_id) for w in workers.values())
    return [*here, LookupMatch(None)] if elsewhere else here
