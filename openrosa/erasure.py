"""OpenRosa's part of an erasure (enrolment/privacy/erasure.py): the files ODK Collect sent with
the person's registration. Listed in settings.PRIVACY_ERASURE_STEPS (and declared by
OpenRosaConfig.erasure_step, so leaving it out fails `manage.py check`)."""

from __future__ import annotations

from openrosa.services import attachments_delete_for_worker
from villages.audit import Actor


class OpenRosaAttachments:
    name = "odk_attachments"

    def erase(self, actor: Actor, worker_id: str) -> int:
        return attachments_delete_for_worker(actor=actor, worker_id=worker_id)
