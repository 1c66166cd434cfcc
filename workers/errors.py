from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError
from villages.records import DuplicateInRequest as DuplicateInRequest  # shared by every client record
from villages.records import RecordDeleted as RecordDeleted


class NikAlreadyRegistered(ServiceError):
    code = "nik_already_registered"
    status_code = 409
    default_message = _("This NIK is already registered.")


class NikLocked(ServiceError):
    code = "nik_locked"
    status_code = 409
    default_message = _("The registry already holds this person's NIK; it cannot be changed here.")


class WorkerEnrolled(ServiceError):
    code = "worker_enrolled"
    status_code = 409
    default_message = _("This person has a verified or active enrolment; end it before deleting them.")


class ProcessingRestricted(ServiceError):
    code = "processing_restricted"
    status_code = 409
    default_message = _("The processing of this person's data is restricted or they were erased; it cannot be changed.")


class MergeBothEnrolled(ServiceError):
    code = "merge_both_enrolled"
    status_code = 409
    default_message = _("Both records have a live enrolment; end or reject one before merging.")


class DuplicateResolved(ServiceError):
    code = "duplicate_resolved"
    status_code = 409
    default_message = _("This pair was already dismissed or merged.")
