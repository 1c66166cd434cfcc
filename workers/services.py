"""Writes for workers: create, update, bulk upsert, soft delete. Every write is audited.

All of them go through `workers_save`: the save skeleton of every client record
(villages/upsert.py: a constant number of queries for 1,000 records) with the workers table's
own rules (workers/decisions.py). `SaveMode` and `Result` are the skeleton's, re-exported here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.errors import NotFound, PreconditionFailed, ServiceError
from config.locks import lock_keys
from config.lookups import text_array
from config.pii import blind_index
from villages.audit import Actor, AuditEntry, audit_events, mask_nik, mask_phone, redact
from villages.models import AuditAction, User
from villages.scope import Scope, scope_of
from villages.upsert import Decision, Outcome, RecordTable, Refuse, Result, Saved, SaveMode, records_save
from workers.decisions import NikHolder, WorkerFacts, decide_worker
from workers.duplicates.finder import Matches, find_matches, forget_matches, person_of, store_matches
from workers.errors import ProcessingRestricted, WorkerEnrolled
from workers.models import Occupation, Worker
from workers.rules import enrolment_rules
from workers.validation import (
    VALUE_FIELDS,
    WARN_POSSIBLE_DUPLICATE,
    CleanedWorker,
    WorkerRefs,
    clean_worker,
    storable_ids,
    village_refs,
)

NIK_LIKE_FIELDS = {"nik", "kk_number"}
# Personal values the audit log marks as changed without keeping them.
REDACTED_FIELDS = frozenset(
    {
        "full_name",
        "birth_date",
        "birth_place",
        "address_street",
        "address_dusun",
        "address_rt",
        "address_rw",
        "kusuka_number",
        "monthly_income",
        "mother_maiden_name",
    }
)
# Kept by every save (config.pii.BlindIndexField), so written with their sources.
BLIND_INDEXES = ("nik_bi", "kk_bi", "phone_bi")


class SaveOutcome(Outcome[Worker]):
    @property
    def worker(self) -> Worker | None:
        return self.row


def worker_refs(*, user: User, records: Sequence[Any]) -> WorkerRefs:
    """What cleaning needs from the database for these raw records: two queries in all."""
    codes = {v for r in records if isinstance(r, Mapping) and isinstance(v := r.get("village"), str)}
    return WorkerRefs(
        scope=scope_of(user),
        villages=village_refs(codes),
        occupations=set(Occupation.objects.filter(active=True).values_list("code", flat=True)),
    )


def worker_as_input(worker: Worker) -> dict[str, Any]:
    """A stored worker in the shape clients send (for PATCH: stored values + the patch)."""
    return {
        "id": worker.id,
        "village": worker.village_id,
        "nik": worker.nik,
        "kk_number": worker.kk_number,
        "full_name": worker.full_name,
        "birth_date": worker.birth_date.isoformat() if worker.birth_date else None,
        "birth_place": worker.birth_place,
        "sex": worker.sex,
        "phone": worker.phone,
        "address": worker.address(),
        "occupation": worker.occupation_id,
        "kusuka_number": worker.kusuka_number,
        "monthly_income": worker.monthly_income,
        "mother_maiden_name": worker.mother_maiden_name,
        "heirs": worker.heirs,
        "consent": worker.consent(),
    }


def lock_niks(records: Sequence[CleanedWorker]) -> dict[str, str]:
    """Locks the NIKs of the valid `records` ("nik" namespace, config/locks.py); returns them by
    blind index. Keyed by blind index (the NIKs never travel to the database), and every caller
    must key them this way: a sync push locks its NIKs before saving and workers_save locks them
    again, which re-takes the same buckets only when both derive the same keys. Keyed by the
    plain NIK once, the two calls took different buckets, out of order, and concurrent pushes
    deadlocked (found by bench/load_test.py)."""
    indexes = {
        blind_index(r.values["nik"], purpose="nik"): r.values["nik"] for r in records if r.valid and r.values.get("nik")
    }
    lock_keys("nik", list(indexes))
    return indexes


class WorkerTable(RecordTable[Worker, CleanedWorker, SaveOutcome]):
    """The workers table in the save skeleton (villages/upsert.py); its rules: workers.decisions."""

    model = Worker
    object_type = "worker"
    lock_namespace = "worker"
    update_fields = (
        *VALUE_FIELDS,
        *BLIND_INDEXES,
        "nik_status",
        "nik_status_reason",
        "warnings",
        "needs_correction",
        "errors",
        "version",
        "updated_by",
        "updated_at",
    )
    derived_fields = frozenset({"warnings"})  # possible_duplicate depends on other people's records

    def lock(self, records: Sequence[CleanedWorker]) -> None:
        self.nik_indexes = lock_niks(records)

    def prepare(self, records: Sequence[CleanedWorker], existing: Mapping[str, Worker]) -> None:
        niks = self.nik_indexes
        # `nik_bi <> ''` as in the unique index's condition, so PostgreSQL may read that index.
        holders = Worker.objects.filter(nik_bi__any=set(niks), deleted_at__isnull=True, needs_correction=False).exclude(
            nik_bi=""
        )
        self.facts = WorkerFacts(
            scope=self.scope,
            holders={
                niks[index]: NikHolder(id_, village)
                for id_, index, village in holders.values_list("id", "nik_bi", "village_id")
            },
            nik_locked=enrolment_rules().nik_locked([r.id for r in records if r.id in existing]),
        )
        user = self.actor.user
        for record in records:
            if record.values.get("consent_given_at") and not record.values.get("consent_recorded_by") and user:
                record.values["consent_recorded_by"] = user.get_username()
        # Likely duplicates across villages (workers/duplicates/finder.py): found before deciding
        # so the records carry the warning, stored once the rows are written.
        self.matches: Matches = find_matches(
            [person_of({"id": r.id, **r.values}) for r in records if storable_ids([r.id])], stored_ids=existing
        )
        _warn_possible_duplicates([r for r in records if r.valid], self.matches)
        for record in records:
            if self.matches.flagged(record.id) and WARN_POSSIBLE_DUPLICATE not in record.warnings:
                record.warnings.append(WARN_POSSIBLE_DUPLICATE)

    def decide(self, record: CleanedWorker, current: Worker | None) -> Decision:
        if current is not None and (current.restricted_at is not None or current.erased_at is not None):
            return Refuse(ProcessingRestricted())
        return decide_worker(record, current, facts=self.facts, keep_invalid=self.keep_invalid)

    def audit_value(self, name: str, value: Any) -> Any:
        """The audit log is append-only and outlives an erasure, so it never holds a person's
        values: NIK, KK and phone masked, the other personal fields only marked as set."""
        if name in NIK_LIKE_FIELDS:
            return mask_nik(value)
        if name == "phone":
            return mask_phone(value)
        if name == "heirs":
            return [
                {
                    "name": redact(heir.get("name")),
                    "relationship": heir.get("relationship", ""),
                    "nik": mask_nik(heir.get("nik")),
                    "phone": mask_phone(heir.get("phone")),
                }
                for heir in value or []
            ]
        if name in REDACTED_FIELDS:
            return redact(value)
        return super().audit_value(name, value)

    def after_write(self, saved: list[Saved[Worker]]) -> None:
        store_matches([s.row for s in saved], self.matches, created=[s.row.id for s in saved if s.created])
        moves = {s.row.id: s.row.village_id for s in saved if "village_id" in s.changes}
        if moves:
            enrolment_rules().village_changed(self.actor, moves)

    def outcome(self, record_id: str, result: Result, row: Worker | None, error: ServiceError | None) -> SaveOutcome:
        return SaveOutcome(id=record_id, result=result, row=row, error=error)


def workers_save(
    *,
    actor: Actor,
    records: Sequence[CleanedWorker],
    mode: SaveMode,
    keep_invalid: bool = False,
) -> list[SaveOutcome]:
    """Saves cleaned worker records; one outcome per record, in order. Idempotent.

    The shared rules (replays, If-Match, versions, scope, tombstones, audit) are the skeleton's
    (villages/upsert.py), the worker's own (NIK uniqueness, NIK locked by the registry, keeping
    invalid records from devices) are `workers.decisions.decide_worker`:
    - CREATE: a new id is created; the same id with the same data (a replay) is `unchanged`;
      the same id with other data is `idempotency_key_reused` (422).
    - UPDATE / UPSERT: an existing id in scope is replaced (`updated`, version + 1) or left
      `unchanged` when nothing differs, whatever version the client sent, so a replayed update
      succeeds; otherwise a stale `version` is `precondition_failed` (412). UPSERT creates
      missing ids; UPDATE answers `not_found`.
    - A NIK held by another live worker is `nik_already_registered` (409); details name that
      worker only when it lies inside the caller's scope.
    - keep_invalid (sync): a record failing field rules is stored with needs_correction and
      its errors instead of being refused, as long as its id and village are acceptable.
    Refusals of one record never affect the others.
    """
    user = actor.user
    scope = scope_of(user) if user is not None else Scope(everything=True)
    table = WorkerTable(actor=actor, scope=scope, mode=mode, keep_invalid=keep_invalid, now=timezone.now())
    return records_save(table, records)


def _warn_possible_duplicates(records: list[CleanedWorker], matches: Matches) -> None:
    """Warns (never refuses) when a person with the same name and birth date already lives in
    the village under another record: the classic double registration with a mistyped NIK.

    The finder's birth-date search (`matches`) has already read every stored worker born that
    day with a similar name, an equal one included, for most records; the database is asked
    only about the others (finder off, SQLite, a date shared by DQ_MAX_CANDIDATES similar names).
    That is one query fewer on most saves (on a bulk benchmark's tables without statistics it
    had cost 0.1-0.2 s per request of 1,000: docs/dq.md "Speed")."""
    if not records:
        return

    def key(village: str, born: Any, name: str) -> tuple[str, Any, str]:
        return village, born, name.casefold()

    keys = [key(r.values["village_id"], r.values["birth_date"], r.values["full_name"]) for r in records]
    found: set[tuple[str, Any, str]] = set()
    unread: list[tuple[str, Any, str]] = []
    for record, record_key in zip(records, keys, strict=True):
        born_alike = matches.born_with_similar_name(record.id)
        if born_alike is None:
            unread.append(record_key)
        else:
            found.update(key(village, record.values["birth_date"], name) for village, name in born_alike)
    if unread:
        found.update(key(*row) for row in _same_village_and_birth_date(unread, [r.id for r in records]))
    in_request = Counter(keys)
    for record, record_key in zip(records, keys, strict=True):
        if (record_key in found or in_request[record_key] > 1) and WARN_POSSIBLE_DUPLICATE not in record.warnings:
            record.warnings.append(WARN_POSSIBLE_DUPLICATE)


def _same_village_and_birth_date(keys: list[tuple[str, Any, str]], exclude_ids: list[str]) -> list[tuple[Any, ...]]:
    """(village, birth date, name) of live workers sharing a (village, birth date) pair with `keys`.

    On PostgreSQL each pair is one probe of worker_village_birth (LATERAL ... OFFSET 0, the
    request's own ids left out here, not in SQL). Joined as a plain join with `id <> ALL(<ids>)`,
    a young table without statistics had the planner read the village's whole range of
    worker_village_sync for every pair and test each row against the 1,000 ids: 214 ms per
    request of 1,000 at 1,010 workers in the village, growing with it (docs/dq.md "Speed").
    Filtering villages IN (...) AND dates IN (...) separately would match their cross product.
    """
    pairs = sorted({(village, born) for village, born, _name in keys})
    if connection.vendor != "postgresql":
        return list(
            Worker.objects.filter(
                village_id__in={p[0] for p in pairs},
                birth_date__in={p[1] for p in pairs},
                deleted_at__isnull=True,
                needs_correction=False,
            )
            .exclude(id__in=exclude_ids)
            .values_list("village_id", "birth_date", "full_name")
        )
    excluded = set(exclude_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w.id, w.village_id, w.birth_date, w.full_name"
            "  FROM unnest(%s::varchar[], %s::date[]) AS pair(village, born)"
            "  CROSS JOIN LATERAL (SELECT id, village_id, birth_date, full_name FROM workers_worker w"
            "   WHERE w.village_id = pair.village AND w.birth_date = pair.born"
            "     AND w.deleted_at IS NULL AND NOT w.needs_correction OFFSET 0) w",
            [text_array(p[0] for p in pairs), text_array(p[1].isoformat() for p in pairs)],
        )
        return [row[1:] for row in cursor.fetchall() if row[0] not in excluded]


def worker_create(*, actor: Actor, data: Any) -> SaveOutcome:
    """POST /workers (`data`: the body as sent; cleaning refuses anything but an object). Raises the
    record's error (400, 409, 422); `unchanged` means a replay."""
    assert actor.user is not None
    cleaned = clean_worker(data, refs=worker_refs(user=actor.user, records=[data]))
    (outcome,) = workers_save(actor=actor, records=[cleaned], mode=SaveMode.CREATE)
    if outcome.error is not None:
        raise outcome.error
    return outcome


@transaction.atomic
def worker_update(*, actor: Actor, worker_id: str, patch: Mapping[str, Any], if_match: int | None) -> SaveOutcome:
    """PATCH /workers/{id}: the stored record with the patch merged in (nested address and
    consent merged key by key), cleaned as a whole. Raises NotFound, PreconditionFailed, ..."""
    assert actor.user is not None
    lock_keys("worker", [worker_id])
    current = worker_get_for_update(user=actor.user, worker_id=worker_id)
    merged = worker_as_input(current)
    for key, value in patch.items():
        if key in ("address", "consent") and isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        elif key not in ("id", "version"):
            merged[key] = value
    cleaned = clean_worker(merged, refs=worker_refs(user=actor.user, records=[merged]), record_id=worker_id)
    cleaned.version = if_match
    (outcome,) = workers_save(actor=actor, records=[cleaned], mode=SaveMode.UPDATE)
    if outcome.error is not None:
        raise outcome.error
    return outcome


def worker_get_for_update(*, user: User, worker_id: str) -> Worker:
    worker = scoped_workers(user=user).filter(id=worker_id, deleted_at__isnull=True).first()
    if worker is None:
        raise NotFound()
    return worker


def scoped_workers(*, user: User) -> QuerySet[Worker]:
    return scope_of(user).filter(Worker.objects.all(), "village__code")


@transaction.atomic
def worker_delete(*, actor: Actor, worker_id: str, if_match: int | None) -> Worker:
    """Soft delete: the row stays as a tombstone (sync reports it). Idempotent: deleting a
    deleted worker succeeds again. Raises NotFound, PreconditionFailed, WorkerEnrolled."""
    assert actor.user is not None
    lock_keys("worker", [worker_id])
    worker = scoped_workers(user=actor.user).filter(id=worker_id).first()
    if worker is None:
        raise NotFound()
    if worker.deleted_at is not None:
        return worker
    if if_match is not None and if_match != worker.version:
        raise PreconditionFailed(details={"current_version": worker.version})
    if enrolment_rules().undeletable([worker.id]):
        raise WorkerEnrolled()
    enrolment_rules().before_delete(actor, [worker.id])
    worker.deleted_at = timezone.now()
    worker.deleted_by = actor.user
    worker.version += 1
    worker.updated_by = actor.user
    worker.save(update_fields=["deleted_at", "deleted_by", "version", "updated_by", "updated_at"])
    forget_matches([worker.id])  # as a tombstone written through a save (store_matches) keeps none
    audit_events(
        actor,
        [AuditEntry(AuditAction.DELETE, "worker", worker.id, worker.village_id, None, {"version": worker.version})],
    )
    return worker
