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
from enrolment.services.enrolments import EnrolmentOutcome, enrolment_create
from villages.audit import Actor
from workers.errors import RecordDeleted
from workers.services import Result, SaveOutcome, worker_create


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
