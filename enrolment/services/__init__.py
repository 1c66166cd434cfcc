"""Writes of the enrolment app (HackSoft-style services), one module per concern:

- `enrolments`: enrolment records (create, update, bulk upsert, soft delete);
- `transitions`: status moves by an action (submit, verify, reject, end);
- `registrations`: a worker and their enrolment together;
- `worker_rules`: what the workers app asks of enrolments (workers.rules).

The public names are re-exported here, so `from enrolment.services import enrolment_create` and
`services.enrolments_transition(...)` keep working whichever module holds them.
"""

from enrolment.errors import AlreadyEnrolled, EnrolmentLocked, InvalidTransition, ReasonRequired, WorkerDeleted
from enrolment.services.enrolments import (
    EnrolmentOutcome,
    enrolment_as_input,
    enrolment_create,
    enrolment_delete,
    enrolment_refs,
    enrolment_update,
    enrolments_save,
    scoped_enrolments,
)
from enrolment.services.registrations import RegistrationOutcome, registration_create, registration_save
from enrolment.services.transitions import TransitionRequest, enrolment_transition, enrolments_transition
from enrolment.services.worker_rules import (
    follow_worker_moves,
    tombstone_enrolments_of,
    workers_not_deletable,
    workers_with_registry_nik,
)

__all__ = [
    "AlreadyEnrolled",
    "EnrolmentLocked",
    "EnrolmentOutcome",
    "InvalidTransition",
    "ReasonRequired",
    "RegistrationOutcome",
    "TransitionRequest",
    "WorkerDeleted",
    "enrolment_as_input",
    "enrolment_create",
    "enrolment_delete",
    "enrolment_refs",
    "enrolment_transition",
    "enrolment_update",
    "enrolments_save",
    "enrolments_transition",
    "follow_worker_moves",
    "registration_create",
    "registration_save",
    "scoped_enrolments",
    "tombstone_enrolments_of",
    "workers_not_deletable",
    "workers_with_registry_nik",
]
