"""What one worker record may write: the workers table's decision in the save skeleton.

A pure function (no query, no clock): `workers.services.WorkerTable` reads the facts it needs
for a whole request at once, and villages/upsert.py does what every client record shares (ids,
scope, tombstones, replays, If-Match, versions, audit). Tested on its own in
tests/workers/test_decisions.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rest_framework.exceptions import ErrorDetail

from config.errors import FieldsInvalid
from config.pii import normalise
from villages.scope import Scope
from villages.upsert import Decision, Refuse, Write
from workers.errors import NikAlreadyRegistered, NikLocked
from workers.models import NikStatus, Worker
from workers.validation import CleanedWorker

# Errors in these make a record impossible to file at all, even flagged: refused, never kept.
STRUCTURAL_ERRORS = frozenset({"id", "village", "non_field_errors"})


@dataclass
class NikHolder:
    """The live worker holding a NIK (its id and village)."""

    id: str
    village_id: str


@dataclass
class WorkerFacts:
    """What deciding a request's workers needs, read once (see WorkerTable.prepare).

    `claimed` fills up as the request's records are decided: a NIK taken by an earlier record of
    the same request is taken for the later ones too."""

    scope: Scope
    holders: dict[str, NikHolder] = field(default_factory=dict)  # NIK → its live holder
    nik_locked: set[str] = field(default_factory=set)  # ids whose NIK the registry holds
    claimed: dict[str, str] = field(default_factory=dict)  # NIK → id, earlier in this request


def decide_worker(record: CleanedWorker, current: Worker | None, *, facts: WorkerFacts, keep_invalid: bool) -> Decision:
    """The worker's own rules, after the skeleton's shared ones:

    - a record failing field rules is refused (400), unless `keep_invalid` (sync) keeps it
      flagged `needs_correction` with its errors; a bad id or village is refused either way;
    - a NIK held by another live worker, or by an earlier record of the request, is
      `nik_already_registered` (409; kept flagged under keep_invalid); the details name the other
      worker only when the caller may see it;
    - a person whose NIK the registry holds keeps it: changing it is `nik_locked` (409);
    - a person without a NIK is `pending` (no uniqueness to check); see `nik_status_after`.
    Writes every value of the record, its warnings and its flag state.
    """
    errors = dict(record.errors)
    if errors:
        if not keep_invalid or STRUCTURAL_ERRORS & set(errors):
            return Refuse(FieldsInvalid.from_detail(record.errors))
    elif record.values["nik"]:
        nik = record.values["nik"]
        holder = facts.holders.get(nik)
        other_id = holder.id if holder is not None and holder.id != record.id else None
        # Details only when the other record is one the caller may see.
        details: dict[str, Any] = (
            {"worker": other_id} if holder is not None and other_id and facts.scope.covers(holder.village_id) else {}
        )
        if other_id is None and facts.claimed.get(nik, record.id) != record.id:
            other_id = facts.claimed[nik]  # earlier in this same request, so in scope
            details = {"worker": other_id}
        if other_id is not None:
            if not keep_invalid:
                return Refuse(NikAlreadyRegistered(details=details))
            errors["nik"] = [ErrorDetail(str(NikAlreadyRegistered.default_message), code=NikAlreadyRegistered.code)]
        else:
            facts.claimed[nik] = record.id
        if current is not None and record.id in facts.nik_locked and current.nik != nik:
            return Refuse(NikLocked())

    flagged = bool(errors)
    nik_status, nik_status_reason = nik_status_after(record.values.get("nik") or "", current)
    return Write(
        values={
            **record.values,
            "nik_status": nik_status,
            "nik_status_reason": nik_status_reason,
            "warnings": sorted(set(record.warnings)),
            "needs_correction": flagged,
            "errors": {name: [str(m) for m in messages] for name, messages in errors.items()} if flagged else {},
        },
        create_context={"needs_correction": flagged},
    )


def nik_status_after(nik: str, current: Worker | None) -> tuple[str, str]:
    """The NIK status a save leaves: `pending` without a NIK (the reason an operator gave kept);
    the stored status while the NIK stays the same; `unverified` for a new NIK, whatever the
    registry said of the old one."""
    if not normalise(nik):  # what the blind index sees: no index, no NIK
        keep = current is not None and current.nik_status == NikStatus.PENDING
        return NikStatus.PENDING.value, current.nik_status_reason if keep and current else ""
    if current is not None and current.nik == nik and current.nik_status != NikStatus.PENDING:
        return current.nik_status, current.nik_status_reason
    return NikStatus.UNVERIFIED.value, ""
