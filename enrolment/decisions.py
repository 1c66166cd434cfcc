"""What one enrolment record may write: the enrolments table's decision in the save skeleton.

Pure functions (no query, no clock): `enrolment.services.enrolments.EnrolmentTable` reads the
facts for a whole request at once, and villages/upsert.py does what every client record shares
(ids, scope, tombstones, If-Match, versions, audit). Tested on their own in
tests/enrolment/test_decisions.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ErrorDetail

from config.errors import FieldsInvalid, IdempotencyKeyReused, PermissionDenied, ServiceError
from enrolment.errors import AlreadyEnrolled, EnrolmentLocked, NikRequired
from enrolment.models import LIVE_STATUSES, Enrolment, Status
from enrolment.validation import CONSENT_MISSING, CleanedEnrolment
from enrolment.workflow import EDITABLE_STATUSES, may_move
from villages.models import User
from villages.scope import Scope
from villages.upsert import Decision, Refuse, Replay, SaveMode, Write
from workers.models import NIK_FOLLOW_UP, Worker

# Errors that leave nothing to file the record under: refused, never kept flagged.
STRUCTURAL_ERRORS = frozenset({"id", "non_field_errors"})


def error_detail(message: Any, code: str) -> ErrorDetail:
    return ErrorDetail(str(message), code=code)


def submission_error(worker: Worker) -> ServiceError | None:
    """What must hold before an enrolment leaves draft: a valid worker whose consent is on file
    (UU 27/2022: personal data goes to the registry only with a recorded legal basis) and whose
    NIK is not pending, not_found or mismatch (409 nik_required)."""
    if worker.needs_correction:
        return FieldsInvalid.from_detail(
            {"worker": [error_detail(_("The worker's own data needs correction first."), "worker_needs_correction")]}
        )
    if worker.consent_given_at is None:
        return FieldsInvalid.from_detail(
            {"worker": [error_detail(_("Record the worker's consent before submitting."), CONSENT_MISSING)]}
        )
    if worker.nik_status in NIK_FOLLOW_UP:  # no NIK yet, or one Dukcapil does not know / match
        return NikRequired(details={"worker": worker.id, "nik_status": worker.nik_status})
    return None


def already_enrolled(scope: Scope, live: tuple[str, str]) -> AlreadyEnrolled:
    """Names the live enrolment (id, village) only when it lies in the caller's areas: the person
    may have moved and been enrolled in a village the caller must learn nothing about."""
    enrolment_id, village_id = live
    return AlreadyEnrolled(details={"enrolment": enrolment_id} if scope.covers(village_id) else {})


@dataclass
class EnrolmentFacts:
    """What deciding a request's enrolments needs, read once (see EnrolmentTable.prepare).

    `live_by_worker` ({worker id: (enrolment id, village)}) is kept up to date as the request's
    records are written, so a second live enrolment in the same request is refused too."""

    scope: Scope
    user: User | None
    now: dt.datetime
    workers: Mapping[str, Worker]  # the people the records name, in the caller's areas
    live_by_worker: dict[str, tuple[str, str]] = field(default_factory=dict)


def decide_enrolment(
    record: CleanedEnrolment,
    current: Enrolment | None,
    *,
    facts: EnrolmentFacts,
    mode: SaveMode,
    keep_invalid: bool,
) -> Decision:
    """The enrolment's own rules, after the skeleton's shared ones:

    - a create of a stored enrolment is decided on the body alone, before any other rule: the
      same body is a replay (`unchanged`), another is `idempotency_key_reused` (422);
    - an enrolment never moves to another person;
    - a record failing field rules is refused (400) unless `keep_invalid` (sync) keeps it flagged
      `needs_correction`, which needs a person to file it under;
    - asking for `submitted` (from draft or rejected) needs a role that may submit (403) and a
      valid person with consent on file (400; kept flagged under keep_invalid);
    - a second live enrolment of a person is `already_enrolled` (409; kept flagged under
      keep_invalid); whether the record is live once saved decides, not what it was;
    - an enrolment verified or further along is `enrolment_locked` (409) if the record changes it.
    """
    if current is not None and mode == SaveMode.CREATE:
        return Replay() if current.request_hash == record.request_hash() else Refuse(IdempotencyKeyReused())
    worker_id = record.values.get("worker_id")
    if current is not None and worker_id and current.worker_id != worker_id:
        return Refuse(
            FieldsInvalid.from_detail(
                {"worker": [error_detail(_("An enrolment cannot move to another person."), "invalid")]}
            )
        )
    # keep_invalid (sync) keeps any record it can file under a person it may see, including one
    # whose person still needs correction: the officer fixes both, nothing is lost.
    if record.errors and (not keep_invalid or STRUCTURAL_ERRORS & set(record.errors) or not worker_id):
        return Refuse(FieldsInvalid.from_detail(record.errors))
    if not worker_id:
        return Refuse(FieldsInvalid.from_detail(record.errors))
    errors = {name: list(messages) for name, messages in record.errors.items()}

    worker = facts.workers[worker_id]
    status = current.status if current is not None else Status.DRAFT
    if not errors and record.status == Status.SUBMITTED and status in (Status.DRAFT, Status.REJECTED):
        if not may_move(facts.user, status, Status.SUBMITTED):
            return Refuse(PermissionDenied())
        problem = submission_error(worker)
        if problem is None:
            status = Status.SUBMITTED
        elif not keep_invalid:
            return Refuse(problem)
        elif isinstance(problem, NikRequired):
            errors.setdefault("worker", []).append(error_detail(problem.message, problem.code))
        else:
            for name, messages in problem.details["fields"].items():
                errors.setdefault(name, []).extend(error_detail(m, CONSENT_MISSING) for m in messages)

    live = facts.live_by_worker.get(worker_id)
    if not errors and live is not None and live[0] != record.id and status in LIVE_STATUSES:
        if not keep_invalid:
            return Refuse(already_enrolled(facts.scope, live))
        errors.setdefault("worker", []).append(error_detail(AlreadyEnrolled.default_message, AlreadyEnrolled.code))

    flagged = bool(errors)
    user_id = facts.user.pk if facts.user is not None else None
    locked = current is not None and current.status not in EDITABLE_STATUSES
    return Write(
        values={
            **record.values,
            "needs_correction": flagged,
            "errors": {name: [str(m) for m in messages] for name, messages in errors.items()} if flagged else {},
        },
        on_create={"status": status, "status_changed_at": facts.now, "status_changed_by_id": user_id},
        create_context={"status": status, "needs_correction": flagged},
        status=status,
        # The same move as the submit action: who moved it and when, no leftover rejection
        # reason (a save only reaches draft or submitted, which carry none), its own event.
        status_values={
            "status": status,
            "status_reason": "",
            "status_changed_at": facts.now,
            "status_changed_by": facts.user,
        },
        locked=EnrolmentLocked(details={"status": current.status}) if locked and current is not None else None,
    )
