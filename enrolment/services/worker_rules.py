"""What the workers app asks of enrolments (workers.rules.EnrolmentRules), answered here.

`EnrolmentWorkerRules` is the provider settings.WORKERS_ENROLMENT_RULES names."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from django.utils import timezone

from config.bulk import update_models
from config.locks import lock_keys
from enrolment.models import LIVE_STATUSES, Enrolment, Status
from enrolment.services.enrolments import _tombstone
from enrolment.workflow import EDITABLE_STATUSES
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction
from workers.errors import MergeBothEnrolled


def workers_with_registry_nik(worker_ids: Collection[str]) -> set[str]:
    """Workers whose NIK went to the registry (queued or active enrolment, or a KPJ number)."""
    return set(
        Enrolment.objects.filter(worker_id__any=set(worker_ids), deleted_at__isnull=True)
        .filter(status__in=(Status.QUEUED, Status.ACTIVE))
        .values_list("worker_id", flat=True)
    ) | set(
        Enrolment.objects.filter(worker_id__any=set(worker_ids))
        .exclude(registry_number="")
        .values_list("worker_id", flat=True)
    )


def workers_not_deletable(worker_ids: Collection[str]) -> set[str]:
    return set(
        Enrolment.objects.filter(
            worker_id__in=worker_ids,
            deleted_at__isnull=True,
            status__in=(Status.VERIFIED, Status.QUEUED, Status.ACTIVE),
        ).values_list("worker_id", flat=True)
    )


def tombstone_enrolments_of(actor: Actor, worker_ids: Collection[str]) -> None:
    """A deleted worker's enrolments in preparation are deleted with them."""
    pending = list(
        Enrolment.objects.filter(worker_id__in=worker_ids, deleted_at__isnull=True, status__in=EDITABLE_STATUSES)
    )
    if pending:
        _tombstone(actor, pending)


def follow_worker_moves(actor: Actor, moves: Mapping[str, str]) -> None:
    """Live enrolments follow their worker to a new village ({worker id: village}): scoping and
    reports go by the enrolment's own village.

    A change like any other (version + 1, updated_at/by, an audit event), so clients relying on
    If-Match or `updated_since` see the enrolment move. Called inside workers_save, which holds
    the workers' locks: the enrolments' come after them (worker, then enrolment: the one order),
    and the rows are read again under them, so a concurrent edit or status move is not lost.
    """
    live = Enrolment.objects.filter(worker_id__in=moves, status__in=LIVE_STATUSES, deleted_at__isnull=True)
    ids = list(live.values_list("id", flat=True))
    if not ids:
        return
    lock_keys("enrolment", ids)
    now = timezone.now()
    moved: list[Enrolment] = []
    events: list[AuditEntry] = []
    for enrolment in live.filter(id__in=ids).select_for_update().order_by("id"):
        village_id = moves[enrolment.worker_id]
        if enrolment.village_id == village_id:
            continue
        change = {"village_id": [enrolment.village_id, village_id]}
        enrolment.village_id = village_id
        enrolment.version += 1
        enrolment.updated_by, enrolment.updated_at = actor.user, now
        moved.append(enrolment)
        events.append(
            AuditEntry(
                AuditAction.UPDATE,
                "enrolment",
                enrolment.id,
                village_id,
                change,
                {"version": enrolment.version, "followed_worker": enrolment.worker_id},
            )
        )
    update_models(moved, ["village", "version", "updated_by", "updated_at"])
    audit_events(actor, events)


def move_enrolments_of(actor: Actor, *, loser: str, survivor: str, village_id: str) -> None:
    """A merge: every enrolment of `loser` (tombstones aside) now belongs to `survivor`, in its
    village; one audit event each. Under both workers' locks (the merge takes them). Raises
    MergeBothEnrolled when each holds a live enrolment (one live enrolment per worker)."""
    rows = list(Enrolment.objects.filter(worker_id__in=[loser, survivor], deleted_at__isnull=True).order_by("id"))
    live_owners = {e.worker_id for e in rows if e.status in LIVE_STATUSES}
    if live_owners == {loser, survivor}:
        raise MergeBothEnrolled()
    moving = [e for e in rows if e.worker_id == loser]
    if not moving:
        return
    lock_keys("enrolment", [e.id for e in moving])
    now = timezone.now()
    events: list[AuditEntry] = []
    for enrolment in moving:
        change = {"worker_id": [loser, survivor]}
        if enrolment.village_id != village_id:
            change["village_id"] = [enrolment.village_id, village_id]
        enrolment.worker_id, enrolment.village_id = survivor, village_id
        enrolment.version += 1
        enrolment.updated_by, enrolment.updated_at = actor.user, now
        events.append(
            AuditEntry(
                AuditAction.UPDATE,
                "enrolment",
                enrolment.id,
                village_id,
                change,
                {"version": enrolment.version, "merged_from": loser},
            )
        )
    update_models(moving, ["worker", "village", "version", "updated_by", "updated_at"])
    audit_events(actor, events)


class EnrolmentWorkerRules:
    """workers.rules.EnrolmentRules, answered from enrolments."""

    def nik_locked(self, worker_ids: Collection[str]) -> set[str]:
        return workers_with_registry_nik(worker_ids)

    def undeletable(self, worker_ids: Collection[str]) -> set[str]:
        return workers_not_deletable(worker_ids)

    def before_delete(self, actor: Actor, worker_ids: Collection[str]) -> None:
        tombstone_enrolments_of(actor, worker_ids)

    def village_changed(self, actor: Actor, moves: Mapping[str, str]) -> None:
        follow_worker_moves(actor, moves)

    def worker_merged(self, actor: Actor, *, loser: str, survivor: str, village_id: str) -> None:
        move_enrolments_of(actor, loser=loser, survivor=survivor, village_id=village_id)
