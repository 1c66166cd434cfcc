"""The enrolment app's refusals (each a stable `code`, see config.errors)."""

from __future__ import annotations

from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _

from config.errors import (
    FieldsInvalid,
    ServiceError,
)


class AlreadyEnrolled(ServiceError):
    code = "already_enrolled"
    status_code = 409
    default_message = _("This person already has a live enrolment.")


class EnrolmentLocked(ServiceError):
    code = "enrolment_locked"
    status_code = 409
    default_message = _("This enrolment is verified or further along; it can no longer be edited.")


class InvalidTransition(ServiceError):
    code = "invalid_transition"
    status_code = 409
    default_message = _("The enrolment's status does not allow this action.")


class ReasonRequired(FieldsInvalid):
    default_message = _("Give a reason.")


class WorkerDeleted(ServiceError):
    code = "worker_deleted"
    status_code = 409
    default_message = _("This person's record was deleted; their enrolment can no longer be submitted or verified.")


class AllocationExhausted(ServiceError):
    code = "allocation_exhausted"
    status_code = 409
    default_message = _("The funding decree has no seats or money left for this enrolment.")


# The CHECK constraints on enrolment_fundingallocation that the commitment trigger can fail.
ALLOCATION_LIMITS = frozenset({"allocation_within_quota", "allocation_within_amount"})


def overruns_allocation(error: IntegrityError) -> bool:
    """True when `error` is an allocation's quota or amount CHECK refusing a commitment."""
    cause = error.__cause__
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
    if constraint is None:  # SQLite names the constraint in the message only
        return any(name in str(error) for name in ALLOCATION_LIMITS)
    return constraint in ALLOCATION_LIMITS


class NikRequired(ServiceError):
    code = "nik_required"
    status_code = 409
    default_message = _(
        "This person has no NIK yet, or the registry could not confirm it; record a confirmed NIK before submitting."
    )
