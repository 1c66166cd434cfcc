from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError


class NikAlreadyRegistered(ServiceError):
    code = "nik_already_registered"
    status_code = 409
    default_message = _("This NIK is already registered.")


class RecordDeleted(ServiceError):
    code = "record_deleted"
    status_code = 409
    default_message = _("This record was deleted; its id cannot be used again.")


class NikLocked(ServiceError):
    code = "nik_locked"
    status_code = 409
    default_message = _("The registry already holds this person's NIK; it cannot be changed here.")


class WorkerEnrolled(ServiceError):
    code = "worker_enrolled"
    status_code = 409
    default_message = _("This person has a verified or active enrolment; end it before deleting them.")


class DuplicateInRequest(ServiceError):
    code = "duplicate_in_request"
    status_code = 400
    default_message = _("The same id appears more than once in this request.")
