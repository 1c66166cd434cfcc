"""An ODK submission without a NIK: the person is registered as pending (API.md "Data quality"),
their enrolment kept as a draft that cannot be submitted until the NIK arrives."""

from __future__ import annotations

from enrolment.models import Enrolment, Status
from tests.factories import PASSWORD
from tests.openrosa.helpers import PNG, collect_client, instance_xml, new_instance_id, submission_files
from workers.models import Worker


def test_an_odk_submission_without_a_nik_is_registered_pending(officer):
    instance_id = new_instance_id()
    with collect_client(officer.username, PASSWORD) as client:
        files = submission_files(instance_xml(instance_id=instance_id, nik=""), ("signature.png", PNG))
        response = client.post("/openrosa/submission", files=files)

    assert response.status_code == 201, response.text
    worker = Worker.objects.get()
    assert (worker.nik, worker.nik_bi, worker.nik_status, worker.needs_correction) == ("", "", "pending", False)
    assert list(Enrolment.objects.values_list("worker_id", "status")) == [(worker.id, Status.DRAFT)]
