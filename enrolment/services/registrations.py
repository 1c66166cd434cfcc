"""Registrations: a worker and their enrolment together, both or neither."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from config.errors import (
    FieldsInvalid,
    ServiceError,
)
from enrolment.services.enrolments import EnrolmentOutcome, enrolment_create, enrolment_refs, enrolments_save
from enrolment.validation import clean_enrolment
from villages.audit import Actor
from workers.errors import RecordDeleted
from workers.services import Result, SaveMode, SaveOutcome, worker_create, worker_refs, workers_save
from workers.validation import clean_worker


@dataclass
class RegistrationOutcome:
    worker: SaveOutcome
    enrolment: EnrolmentOutcome

    @property
    def created(self) -> bool:
        return Result.CREATED in (self.worker.result, self.enrolment.result)


def _prefixed(error: ServiceError, prefix: str) -> ServiceError:
    fields = error.details.get("fields")
    if fields:
        error.details["fields"] = {f"{prefix}.{name}": messages for name, messages in fields.items()}
    return error


@transaction.atomic
def registration_create(*, actor: Actor, worker_data: Any, enrolment_data: Any) -> RegistrationOutcome:
    """POST /registrations: the worker and their enrolment, both or neither. Idempotent on both
    ids. Field errors are named `worker.<field>` and `enrolment.<field>`."""
    if not isinstance(worker_data, Mapping) or not isinstance(enrolment_data, Mapping):
        raise FieldsInvalid(fields={"non_field_errors": [_('Send {"worker": {...}, "enrolment": {...}}.')]})
    try:
        worker_outcome = worker_create(actor=actor, data=worker_data)
    except ServiceError as error:
        raise _prefixed(error, "worker") from None
    if worker_outcome.saved.deleted_at is not None:
        # A replayed create of a worker deleted since: nobody may be enrolled through it.
        raise RecordDeleted()
    enrolment_input = {**enrolment_data, "worker": worker_outcome.saved.id}
    try:
        enrolment_outcome = enrolment_create(actor=actor, data=enrolment_input, extra_workers=[worker_outcome.saved])
    except ServiceError as error:
        raise _prefixed(error, "enrolment") from None
    return RegistrationOutcome(worker=worker_outcome, enrolment=enrolment_outcome)


@transaction.atomic
def registration_save(
    *,
    actor: Actor,
    worker_data: Mapping[str, Any],
    enrolment_data: Mapping[str, Any],
    mode: SaveMode = SaveMode.UPSERT,
    keep_invalid: bool = False,
) -> RegistrationOutcome:
    """A registration from a client that must not lose field data (ODK Collect's submissions):
    `registration_create` with the record services' save mode and `keep_invalid`. Under
    keep_invalid a record failing field rules is stored flagged `needs_correction` with its
    errors (the worker, and the enrolment filed under it), as long as its id and village are
    acceptable; any refusal raises (errors named `worker.<field>` / `enrolment.<field>`) and,
    the two being one transaction, neither record is stored. UPSERT replaces stored ids (an
    edit), so a locked enrolment refuses a change (409 `enrolment_locked`)."""
    assert actor.user is not None
    cleaned_worker = clean_worker(worker_data, refs=worker_refs(user=actor.user, records=[worker_data]))
    (worker_outcome,) = workers_save(actor=actor, records=[cleaned_worker], mode=mode, keep_invalid=keep_invalid)
    if worker_outcome.error is not None:
        raise _prefixed(worker_outcome.error, "worker")
    if worker_outcome.saved.deleted_at is not None:
        raise RecordDeleted()
    enrolment_input = {**enrolment_data, "worker": worker_outcome.saved.id}
    refs = enrolment_refs(user=actor.user, records=[enrolment_input], extra_workers=[worker_outcome.saved])
    cleaned_enrolment = clean_enrolment(enrolment_input, refs=refs)
    (enrolment_outcome,) = enrolments_save(
        actor=actor, records=[cleaned_enrolment], refs=refs, mode=mode, keep_invalid=keep_invalid
    )
    if enrolment_outcome.error is not None:
        raise _prefixed(enrolment_outcome.error, "enrolment")
    return RegistrationOutcome(worker=worker_outcome, enrolment=enrolment_outcome)
