"""Review of likely duplicates: merge two records into one, or dismiss the pair for good.

Both are for operators and supervisors who see both records (a pair is in a caller's scope only
when both records are). Both lock the two workers (advisory locks, then the rows, in pk order,
as every worker write does), so a merge and a concurrent edit of either record serialise: the
edit that comes second finds the tombstone (`record_deleted`) or the merged survivor's new
version (412 when it sent the old one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid, NotFound, PreconditionFailed
from config.locks import lock_keys
from config.pii import blind_index
from villages.audit import Actor, AuditEntry, audit_events, mask_nik
from villages.models import AuditAction
from villages.scope import Scope, scope_of
from workers.duplicates.finder import find_matches, forget_matches, person_of, store_matches
from workers.errors import DuplicateResolved, NikLocked
from workers.models import DuplicatePair, DuplicateStatus, Worker
from workers.rules import enrolment_rules

# A merge's `fields`: REST field name → the model columns it stands for.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    # The NIK with its index (a save with update_fields recomputes only the fields named) and its
    # status: the registry's word on a NIK travels with it.
    "nik": ("nik", "nik_bi", "nik_status", "nik_status_reason"),
    "kk_number": ("kk_number",),
    "full_name": ("full_name",),
    "birth_date": ("birth_date",),
    "birth_place": ("birth_place",),
    "sex": ("sex",),
    "phone": ("phone",),
    "village": ("village_id",),
    "address": ("address_street", "address_dusun", "address_rt", "address_rw"),
    "occupation": ("occupation_id",),
    "kusuka_number": ("kusuka_number",),
    "monthly_income": ("monthly_income",),
    "mother_maiden_name": ("mother_maiden_name",),
    "heirs": ("heirs",),
    "consent": (
        "consent_given_at",
        "consent_method",
        "consent_recorded_by",
        "consent_purpose",
        "consent_notice_version",
    ),
}
MASKED = {"nik", "kk_number"}


def _audit(name: str, value: Any) -> Any:
    if name in MASKED:
        return mask_nik(value)
    if name == "heirs":
        return [{**heir, "nik": mask_nik(heir.get("nik"))} for heir in value or []]
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _pair_in_scope(scope: Scope, pair_id: int) -> DuplicatePair:
    pair = DuplicatePair.objects.select_related("a", "b").filter(pk=pair_id).first()
    if pair is None or not (scope.covers(pair.a.village_id) and scope.covers(pair.b.village_id)):
        raise NotFound()
    return pair


def _invalid(field: str, message: Any) -> FieldsInvalid:
    return FieldsInvalid(details={"fields": {field: [str(message)]}})


@transaction.atomic
def duplicate_merge(
    *, actor: Actor, pair_id: int, keep: str, fields: Mapping[str, str], versions: Mapping[str, int] | None = None
) -> Worker:
    """Merges the pair into `keep` (one of its two ids), which takes, for each named field, the
    value of the record named (`{"phone": <other id>}`); other fields keep the survivor's. The
    other record becomes a tombstone with `merged_into` (devices pull it as deleted, the
    survivor as updated), its enrolments move to the survivor, and the pair is `merged`; other
    open pairs of the tombstone are dropped. Audited. Raises NotFound (pair or either record
    outside the caller's areas), DuplicateResolved (not open, or a record already gone),
    FieldsInvalid (keep or fields), NikLocked, MergeBothEnrolled; with `versions` (record id →
    the version the reviewer compared, the panel's If-Match), PreconditionFailed when either
    record changed since: the choices were made on values that are no longer there."""
    assert actor.user is not None
    scope = scope_of(actor.user)
    pair = _pair_in_scope(scope, pair_id)
    ids = sorted([pair.a_id, pair.b_id])
    if keep not in ids:
        raise _invalid("keep", _("Name one of the pair's two records."))
    for name, source in fields.items():
        if name not in MERGE_FIELDS:
            raise _invalid(f"fields.{name}", _("Not a field a merge can choose."))
        if source not in ids:
            raise _invalid(f"fields.{name}", _("Name one of the pair's two records."))
    lock_keys("worker", ids)
    workers = {w.id: w for w in Worker.objects.select_for_update().filter(id__in=ids).order_by("id")}
    # Read again under the locks: an edit that committed meanwhile may have changed the pair.
    locked = DuplicatePair.objects.select_for_update().filter(pk=pair.pk).first()
    if locked is None:
        raise NotFound()
    pair = locked
    survivor = workers[keep]
    loser = workers[ids[0] if keep == ids[1] else ids[1]]
    if pair.status != DuplicateStatus.OPEN or survivor.deleted_at or loser.deleted_at:
        raise DuplicateResolved()
    if versions is not None and any(versions.get(i) != workers[i].version for i in ids):
        raise PreconditionFailed(details={"current_versions": {i: workers[i].version for i in ids}})
    values = {
        column: getattr(loser, column)
        for name, source in fields.items()
        if source == loser.id
        for column in MERGE_FIELDS[name]
    }
    if not scope.covers(values.get("village_id", survivor.village_id)):
        raise NotFound()
    if "nik" in values and values["nik"] != survivor.nik:
        # By blind index, as every writer of a NIK locks it (workers.services.lock_niks).
        lock_keys("nik", [blind_index(values["nik"], purpose="nik")])
        if enrolment_rules().nik_locked([survivor.id]):
            raise NikLocked()
    now = timezone.now()
    user = actor.user
    # The tombstone first: the survivor may take its NIK (unique among live records).
    loser.deleted_at, loser.deleted_by, loser.merged_into = now, user, survivor
    loser.version += 1
    loser.updated_by = user
    loser.save(update_fields=["deleted_at", "deleted_by", "merged_into", "version", "updated_by", "updated_at"])
    changes = {
        c: [_audit(c, getattr(survivor, c)), _audit(c, v)]
        for c, v in values.items()
        if getattr(survivor, c) != v and c != "nik_bi"  # the audit log keeps no linkable index
    }
    for column, value in values.items():
        setattr(survivor, column, value)
    survivor.version += 1
    survivor.updated_by = user
    survivor.save(update_fields=[*values, "version", "updated_by", "updated_at"])
    enrolment_rules().worker_merged(actor, loser=loser.id, survivor=survivor.id, village_id=survivor.village_id)

    pair.status, pair.survivor = DuplicateStatus.MERGED, survivor
    pair.resolved_at, pair.resolved_by = now, user
    pair.save(update_fields=["status", "survivor", "resolved_at", "resolved_by", "updated_at"])
    DuplicatePair.objects.filter(status=DuplicateStatus.OPEN, a_id=loser.id).delete()
    DuplicatePair.objects.filter(status=DuplicateStatus.OPEN, b_id=loser.id).delete()
    forget_matches([loser.id])
    store_matches([survivor], find_matches([person_of(survivor)], stored_ids=[survivor.id]))
    audit_events(
        actor,
        [
            AuditEntry(
                AuditAction.DELETE, "worker", loser.id, loser.village_id, None,
                {"version": loser.version, "merged_into": survivor.id, "pair": pair.pk},
            ),
            AuditEntry(
                AuditAction.UPDATE, "worker", survivor.id, survivor.village_id, changes,
                {"version": survivor.version, "merged_from": loser.id, "pair": pair.pk},
            ),
        ],
    )  # fmt: skip
    return survivor


@transaction.atomic
def duplicate_dismiss(*, actor: Actor, pair_id: int, reason: str) -> DuplicatePair:
    """Marks the pair as not one person: the finder never flags it again. Idempotent for a
    dismissed pair; a merged one is DuplicateResolved. Audited on both records."""
    assert actor.user is not None
    pair = _pair_in_scope(scope_of(actor.user), pair_id)
    lock_keys("worker", sorted([pair.a_id, pair.b_id]))
    locked = DuplicatePair.objects.select_for_update().select_related("a", "b").filter(pk=pair.pk).first()
    if locked is None:  # an edit meanwhile made the records unalike: nothing left to dismiss
        raise NotFound()
    pair = locked
    if pair.status == DuplicateStatus.DISMISSED:
        return pair
    if pair.status != DuplicateStatus.OPEN:
        raise DuplicateResolved()
    pair.status, pair.resolution_reason = DuplicateStatus.DISMISSED, reason
    pair.resolved_at, pair.resolved_by = timezone.now(), actor.user
    pair.save(update_fields=["status", "resolution_reason", "resolved_at", "resolved_by", "updated_at"])
    context = {"duplicate_pair": pair.pk, "dismissed": True, "reason": reason}
    audit_events(
        actor,
        [
            AuditEntry(
                AuditAction.UPDATE, "worker", pair.a_id, pair.a.village_id, None, {**context, "other": pair.b_id}
            ),
            AuditEntry(
                AuditAction.UPDATE, "worker", pair.b_id, pair.b.village_id, None, {**context, "other": pair.a_id}
            ),
        ],
    )
    return pair


def duplicates_forget_person(worker_id: str) -> int:
    """What the finder holds on a person being erased goes (enrolment/privacy): the match row (their
    normalised name and the digests of their NIK, KK and phone) and the open pairs, which would
    put their record up for review against another. Dismissed and merged pairs stay, as the
    history of decisions (two ids, a score, the reasons). Answers how many open pairs went."""
    forget_matches([worker_id])
    removed, _ = (
        DuplicatePair.objects.filter(status=DuplicateStatus.OPEN).filter(Q(a_id=worker_id) | Q(b_id=worker_id)).delete()
    )
    return removed
