"""NIK status (API.md "Data quality"): where a worker's NIK stands, set by the registry's answers
and by operators. A save of the worker itself sets `pending` / `unverified`
(workers.decisions.nik_status_after); the database holds `pending` to "no NIK" (the constraints).

Both writers here bump the version (a client holding the old one learns of the change through
If-Match) and are audited; the sync-clock triggers stamp the rows, so devices pull the new status.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid, NotFound, PreconditionFailed
from config.locks import lock_keys
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction
from villages.scope import scope_of
from workers.models import NikStatus as NikStatus
from workers.models import Worker

# The registry's reason codes (REGISTRY.md) that say something about the NIK itself.
REGISTRY_REASONS = {"nik_not_found": NikStatus.NOT_FOUND, "nik_mismatch": NikStatus.MISMATCH}
REASON_MAX_LENGTH = 200
# What an operator may set: `pending` follows from the NIK alone, never from a choice.
OPERATOR_STATUSES = (NikStatus.UNVERIFIED, NikStatus.VERIFIED, NikStatus.NOT_FOUND, NikStatus.MISMATCH)


def registry_answer_status(outcome: str, reason_code: str, reason: str) -> tuple[str, str] | None:
    """The NIK status a registry result says, with its reason; None when it says nothing of the
    NIK (a rejection for another reason, such as over_age)."""
    if outcome in ("accepted", "duplicate"):
        return NikStatus.VERIFIED, ""
    status = REGISTRY_REASONS.get(reason_code)
    if status is None:
        return None
    return status, (reason or reason_code)[:REASON_MAX_LENGTH]


def nik_status_from_registry(answers: Mapping[str, tuple[str, str]], *, batch: str = "") -> None:
    """Writes what registry results say of these workers' NIKs ({worker id: (status, reason)}),
    one UPDATE per distinct answer (a batch holds up to 1,000 records and a handful of answers).
    A pending worker (its NIK removed since it was sent) and a deleted one are left alone."""
    if not answers:
        return
    rows = (
        Worker.objects.filter(id__in=list(answers), deleted_at__isnull=True)
        .exclude(nik_status=NikStatus.PENDING)
        .values_list("id", "village_id", "nik_status", "nik_status_reason", "version")
    )
    now = timezone.now()
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    events: list[AuditEntry] = []
    for worker_id, village, status, reason, version in rows:
        new_status, new_reason = answers[worker_id]
        if (status, reason) == (new_status, new_reason):
            continue
        groups[(new_status, new_reason)].append(worker_id)
        changes = {"nik_status": [status, str(new_status)], "version": [version, version + 1]}
        if reason != new_reason:
            changes["nik_status_reason"] = [reason, new_reason]
        events.append(AuditEntry(AuditAction.UPDATE, "worker", worker_id, village, changes, {"registry_batch": batch}))
    for (status, reason), ids in groups.items():
        Worker.objects.filter(id__in=ids).update(
            nik_status=status, nik_status_reason=reason, version=F("version") + 1, updated_at=now, updated_by=None
        )
    audit_events(Actor.system(), events)


@transaction.atomic
def nik_status_set(*, actor: Actor, worker_id: str, data: Any, if_match: int | None) -> Worker:
    """POST /workers/{id}/nik-status `{nik_status, reason?}` by an operator (after a check with
    the civil registry, say). 404 outside scope, 412 stale If-Match, 400 a value that is not one
    of OPERATOR_STATUSES, `pending` asked of a person with a NIK or another status of one
    without, or a reason too long. Setting the stored status and reason again changes nothing."""
    assert actor.user is not None
    lock_keys("worker", [worker_id])
    worker = (
        scope_of(actor.user).filter(Worker.objects.filter(id=worker_id, deleted_at__isnull=True), "village__code")
    ).first()
    if worker is None:
        raise NotFound()
    status, reason = _clean(data, worker)
    if if_match is not None and if_match != worker.version:
        raise PreconditionFailed(details={"current_version": worker.version})
    if (worker.nik_status, worker.nik_status_reason) == (status, reason):
        return worker
    changes: dict[str, list[Any]] = {"nik_status": [worker.nik_status, status]}
    if worker.nik_status_reason != reason:
        changes["nik_status_reason"] = [worker.nik_status_reason, reason]
    changes["version"] = [worker.version, worker.version + 1]
    worker.nik_status, worker.nik_status_reason = status, reason
    worker.version += 1
    worker.updated_by = actor.user
    worker.save(update_fields=["nik_status", "nik_status_reason", "version", "updated_by", "updated_at"])
    audit_events(actor, [AuditEntry(AuditAction.UPDATE, "worker", worker.id, worker.village_id, changes, {})])
    return worker


def _clean(data: Any, worker: Worker) -> tuple[str, str]:
    if not isinstance(data, Mapping):
        raise FieldsInvalid(fields={"non_field_errors": [_("Send a JSON object.")]})
    fields: dict[str, list[Any]] = {}
    status = data.get("nik_status")
    reason = data.get("reason", "")
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        fields["reason"] = [_("Enter text.")]
    elif len(reason.strip()) > REASON_MAX_LENGTH:
        fields["reason"] = [_("Use at most %(n)d characters.") % {"n": REASON_MAX_LENGTH}]
    no_nik = worker.nik_status == NikStatus.PENDING
    if status in (None, ""):
        fields["nik_status"] = [_("This field is required.")]
    elif status == NikStatus.PENDING and not no_nik:
        fields["nik_status"] = [_("Only a person without a NIK is pending; remove the NIK to make them pending.")]
    elif no_nik and status != NikStatus.PENDING:
        fields["nik_status"] = [_("This person has no NIK yet: record the NIK first.")]
    elif not isinstance(status, str) or status not in [*OPERATOR_STATUSES, NikStatus.PENDING]:
        fields["nik_status"] = [
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(s.value for s in OPERATOR_STATUSES)}
        ]
    if fields:
        raise FieldsInvalid(fields=fields)
    reason = reason.strip() if status in (NikStatus.NOT_FOUND, NikStatus.MISMATCH, NikStatus.PENDING) else ""
    return str(status), reason
