"""The enrolment app's refusals (each a stable `code`, see config.errors)."""

from __future__ import annotations

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
