"""Writes for workers: create, update, bulk upsert, soft delete. Every write is audited.

All of them go through `workers_save`, which handles a list of cleaned records with a constant
number of queries (the bulk endpoint sends 1,000 at a time): lock the ids and NIKs being
written, read the existing rows and the live holders of those NIKs once, decide per record,
then one INSERT, one UPDATE and one audit INSERT.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.bulk import insert_models, new_instance, update_models
from config.errors import Conflict, FieldsInvalid, IdempotencyKeyReused, NotFound, PreconditionFailed, ServiceError
from config.formats import iso_datetime
from config.locks import lock_keys
from config.lookups import text_array
from villages.audit import Actor, AuditEntry, audit_events, mask_nik
from villages.models import AuditAction, User
from villages.scope import Scope, scope_of
from workers.errors import DuplicateInRequest, NikAlreadyRegistered, NikLocked, RecordDeleted, WorkerEnrolled
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


class SaveMode(StrEnum):
    CREATE = "create"  # POST: a new id, or a replay of the same create
    UPDATE = "update"  # PATCH: the id must exist in scope
    UPSERT = "upsert"  # bulk and sync: create or replace


class Result(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    INVALID = "invalid"


@dataclass
class SaveOutcome:
    id: str
    result: Result
    worker: Worker | None = None
    error: ServiceError | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)


def worker_refs(*, user: User, records: Sequence[Any]) -> WorkerRefs:
    """What cleaning needs from the database for these raw records: two queries in all."""
    codes = {r.get("village") for r in records if isinstance(r, Mapping) and isinstance(r.get("village"), str)}
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
        "address": {
            "street": worker.address_street,
            "dusun": worker.address_dusun,
            "rt": worker.address_rt,
            "rw": worker.address_rw,
        },
        "occupation": worker.occupation_id,
        "kusuka_number": worker.kusuka_number,
        "monthly_income": worker.monthly_income,
        "mother_maiden_name": worker.mother_maiden_name,
        "heirs": worker.heirs,
        "consent": {
            "given_at": iso_datetime(worker.consent_given_at),
            "method": worker.consent_method,
            "recorded_by": worker.consent_recorded_by,
        }
        if worker.consent_given_at
        else None,
    }


def _audit_value(name: str, value: Any) -> Any:
    if name in NIK_LIKE_FIELDS:
        return mask_nik(value)
    if name == "heirs":
        return [{**heir, "nik": mask_nik(heir.get("nik"))} for heir in value or []]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _diff(worker: Worker, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [_audit_value(name, getattr(worker, name)), _audit_value(name, value)]
        for name, value in values.items()
        if getattr(worker, name) != value
    }


def _fields_of(error_fields: Mapping[str, list[Any]]) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in error_fields.items()}


@transaction.atomic
def workers_save(
    *,
    actor: Actor,
    records: Sequence[CleanedWorker],
    mode: SaveMode,
    keep_invalid: bool = False,
) -> list[SaveOutcome]:
    """Saves cleaned worker records; one outcome per record, in order. Idempotent.

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
    user_id = user.pk if user is not None else None
    scope = scope_of(user) if user is not None else Scope(everything=True)
    now = timezone.now()
    outcomes: list[SaveOutcome] = []
    ids = storable_ids(r.id for r in records)
    niks = [r.values.get("nik") for r in records if r.valid and r.values.get("nik")]
    lock_keys("worker", ids)
    lock_keys("nik", niks)  # type: ignore[arg-type]

    existing = {w.id: w for w in Worker.objects.filter(id__any=set(ids))}
    holders: dict[str, Worker] = {}
    for holder in Worker.objects.filter(nik__any=set(niks), deleted_at__isnull=True, needs_correction=False).only(
        "id", "nik", "village_id"
    ):
        holders[holder.nik] = holder
    nik_locked = enrolment_rules().nik_locked([i for i in ids if i in existing])
    for record in records:
        if record.values.get("consent_given_at") and not record.values.get("consent_recorded_by") and user:
            record.values["consent_recorded_by"] = user.get_username()
    _warn_possible_duplicates([r for r in records if r.valid])

    to_create: list[Worker] = []
    to_update: list[Worker] = []
    events: list[AuditEntry] = []
    moves: dict[str, str] = {}
    seen_ids: set[str] = set()
    batch_niks: dict[str, str] = {}  # nik → id claimed earlier in this request

    for record in records:
        outcome = SaveOutcome(id=record.id, result=Result.INVALID)
        outcomes.append(outcome)
        if record.id and record.id in seen_ids:
            outcome.error = DuplicateInRequest()
            continue
        seen_ids.add(record.id)
        current = existing.get(record.id)

        if current is not None and not scope.covers(current.village_id):
            outcome.error = IdempotencyKeyReused() if mode == SaveMode.CREATE else NotFound()
            continue
        if current is None and mode == SaveMode.UPDATE:
            outcome.error = NotFound()
            continue
        if current is not None and current.deleted_at is not None:
            if mode == SaveMode.CREATE and current.request_hash == record.request_hash():
                outcome.result, outcome.worker = Result.UNCHANGED, current
            else:
                outcome.error = RecordDeleted() if mode != SaveMode.UPDATE else NotFound()
            continue

        if not record.valid:
            structural = {"id", "village", "non_field_errors"} & set(record.errors)
            if not keep_invalid or structural:
                outcome.error = FieldsInvalid.from_detail(record.errors)
                continue
        else:
            nik = record.values["nik"]
            holder = holders.get(nik)
            other_id = holder.id if holder is not None and holder.id != record.id else None
            # Details only when the other record is one the caller may see.
            details = {"worker": other_id} if other_id and scope.covers(holder.village_id) else {}  # type: ignore[union-attr]
            if other_id is None and batch_niks.get(nik, record.id) != record.id:
                other_id = batch_niks[nik]  # earlier in this same request, so in scope
                details = {"worker": other_id}
            if other_id is not None:
                if not keep_invalid:
                    outcome.error = NikAlreadyRegistered(details=details)
                    continue
                record.add_error("nik", NikAlreadyRegistered.default_message, NikAlreadyRegistered.code)
            else:
                batch_niks[nik] = record.id
            if current is not None and record.id in nik_locked and current.nik != nik:
                outcome.error = NikLocked()
                continue

        flagged = not record.valid
        stored_values = dict(record.values)
        state = {
            "warnings": sorted(set(record.warnings)),
            "needs_correction": flagged,
            "errors": _fields_of(record.errors) if flagged else {},
        }

        if current is None:
            worker = new_instance(
                Worker,
                {
                    "id": record.id,
                    **stored_values,
                    **state,
                    "version": 1,
                    "request_hash": record.request_hash(),
                    "created_by_id": user_id,
                    "updated_by_id": user_id,
                    "created_on_device": actor.device,
                },
            )
            to_create.append(worker)
            outcome.result, outcome.worker = Result.CREATED, worker
            events.append(
                AuditEntry(
                    AuditAction.CREATE, "worker", record.id, worker.village_id, None, {"needs_correction": flagged}
                )
            )
            continue

        # Warnings are derived by the server (possible_duplicate depends on other people's
        # records), so a difference in them alone is not a change: a replay stays a replay.
        changes = _diff(current, {**stored_values, **state})
        substantive = {name: change for name, change in changes.items() if name != "warnings"}
        if mode == SaveMode.CREATE:
            if current.request_hash == record.request_hash() or not substantive:
                outcome.result, outcome.worker = Result.UNCHANGED, current
            else:
                outcome.error = IdempotencyKeyReused()
            continue

        if not substantive:
            outcome.result, outcome.worker = Result.UNCHANGED, current
            continue
        if record.version is not None and record.version != current.version:
            outcome.error = PreconditionFailed(details={"current_version": current.version})
            continue
        if current.village_id != stored_values["village_id"]:
            moves[current.id] = stored_values["village_id"]
        for name, value in {**stored_values, **state}.items():
            setattr(current, name, value)
        current.version += 1
        current.updated_by = user
        current.updated_at = now
        to_update.append(current)
        outcome.result, outcome.worker = Result.UPDATED, current
        events.append(
            AuditEntry(
                AuditAction.UPDATE, "worker", current.id, current.village_id, changes, {"version": current.version}
            )
        )

    try:
        with transaction.atomic():
            insert_models(to_create)
            update_models(
                to_update,
                [*VALUE_FIELDS, "warnings", "needs_correction", "errors", "version", "updated_by", "updated_at"],
            )
    except IntegrityError as exc:
        # Only a writer that bypassed the locks above can get here; the client may simply retry.
        raise Conflict() from exc
    if moves:
        enrolment_rules().village_changed(actor, moves)
    audit_events(actor, events)
    return outcomes


def _warn_possible_duplicates(records: list[CleanedWorker]) -> None:
    """Warns (never refuses) when a person with the same name and birth date already lives in
    the village under another record: the classic double registration with a mistyped NIK."""
    if not records:
        return

    def key(village: str, born: Any, name: str) -> tuple[str, Any, str]:
        return village, born, name.casefold()

    keys = [key(r.values["village_id"], r.values["birth_date"], r.values["full_name"]) for r in records]
    found = {key(*row) for row in _same_village_and_birth_date(keys, [r.id for r in records])}
    in_request = Counter(keys)
    for record, record_key in zip(records, keys, strict=True):
        if (record_key in found or in_request[record_key] > 1) and WARN_POSSIBLE_DUPLICATE not in record.warnings:
            record.warnings.append(WARN_POSSIBLE_DUPLICATE)


def _same_village_and_birth_date(keys: list[tuple[str, Any, str]], exclude_ids: list[str]) -> list[tuple[Any, ...]]:
    """(village, birth date, name) of live workers sharing a (village, birth date) pair with `keys`.

    On PostgreSQL the pairs are joined as pairs (one index probe each on worker_village_birth);
    filtering villages IN (...) AND dates IN (...) separately matches their cross product, which
    for a batch spread over a thousand villages is a scan of the whole table (0.3 s per 1,000
    records with a million workers stored).
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
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w.village_id, w.birth_date, w.full_name"
            "  FROM unnest(%s::varchar[], %s::date[]) AS pair(village, born)"
            "  JOIN workers_worker w ON w.village_id = pair.village AND w.birth_date = pair.born"
            " WHERE w.deleted_at IS NULL AND NOT w.needs_correction AND NOT (w.id = ANY(%s::varchar[]))",
            [text_array(p[0] for p in pairs), text_array(p[1].isoformat() for p in pairs), text_array(exclude_ids)],
        )
        return cursor.fetchall()


def worker_create(*, actor: Actor, data: Mapping[str, Any]) -> SaveOutcome:
    """POST /workers. Raises the record's error (400, 409, 422); `unchanged` means a replay."""
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
    audit_events(
        actor,
        [AuditEntry(AuditAction.DELETE, "worker", worker.id, worker.village_id, None, {"version": worker.version})],
    )
    return worker
