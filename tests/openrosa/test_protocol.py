"""The OpenRosa 1.0 conversation as ODK Collect holds it: HEAD, multipart POST with an image,
a resend, an edit, a submission split over two POSTs; the database after each."""

from __future__ import annotations

import hashlib
import time

import pytest
from defusedxml.ElementTree import fromstring

from enrolment.models import Enrolment
from openrosa.models import Attachment, Submission
from openrosa.services import attachments_delete_for_worker
from openrosa.xlsform import FORM_ID
from tests.conftest import OTHER_REGENCY_VILLAGE
from tests.factories import PASSWORD
from tests.openrosa.helpers import PNG, collect_client, instance_xml, new_instance_id, submission_files
from villages.audit import Actor
from villages.models import AuditEvent
from workers.models import Worker

NS = "{http://openrosa.org/http/response}"


def message(response) -> str:
    return fromstring(response.content).find(f"{NS}message").text


def post(client, xml: bytes, *attachments: tuple[str, bytes], incomplete: bool = False):
    data = {"*isIncomplete*": "yes"} if incomplete else None
    return client.post("/openrosa/submission", files=submission_files(xml, *attachments), data=data)


def test_head_answers_204_with_the_openrosa_headers(officer):
    with collect_client(officer.username, PASSWORD) as client:
        response = client.head("/openrosa/submission")
    assert response.status_code == 204
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert response.headers["X-OpenRosa-Accept-Content-Length"] == str(10 * 1024 * 1024)
    assert response.headers["Date"].endswith("GMT")
    assert response.headers["Location"] == "http://testserver/openrosa/submission"


def test_no_credentials_get_a_digest_challenge_then_basic(officer):
    with collect_client(officer.username, PASSWORD) as client:
        response = client.head("/openrosa/submission", auth=None)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Digest realm="village-enrolment", qop="auth", algorithm=MD5, nonce="')
    assert challenge.endswith('Basic realm="village-enrolment", charset="UTF-8"')
    assert response.headers["X-OpenRosa-Version"] == "1.0"


def test_a_submission_with_a_signature_becomes_one_registration(officer):
    instance_id = new_instance_id()
    xml = instance_xml(instance_id=instance_id)
    with collect_client(officer.username, PASSWORD) as client:
        assert client.head("/openrosa/submission").status_code == 204
        response = post(client, xml, ("signature.png", PNG))

    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert message(response) == "Formulir diterima. Terima kasih."
    worker_id = "odk-" + instance_id.removeprefix("uuid:").replace("-", "")
    worker = Worker.objects.get()
    assert (worker.id, worker.village_id, worker.nik, worker.full_name) == (
        worker_id,
        "17.04.01.2001",
        "1704014101900001",
        "Siti Aminah",
    )
    assert (worker.sex, worker.phone, worker.occupation_id, worker.monthly_income) == (
        "F",
        "+6281234567890",
        "nelayan",
        1_500_000,
    )
    assert worker.heirs == [{"name": "Rahmat", "relationship": "child", "nik": "", "phone": ""}]
    assert (worker.consent_method, worker.consent_recorded_by, worker.needs_correction) == (
        "signature",
        officer.username,
        False,
    )
    # The form names no privacy notice: the one in force on the day of consent, its first purpose.
    assert (worker.consent_notice_version, worker.consent_purpose) == ("2025-01", "enrolment")
    enrolment = Enrolment.objects.get()
    assert (enrolment.id, enrolment.worker_id, enrolment.status, enrolment.programs) == (
        worker_id + "-e",
        worker_id,
        "submitted",
        ["JKK", "JKM"],
    )
    assert (enrolment.funding_source_id, enrolment.monthly_contribution, enrolment.needs_correction) == (
        "apbd_kabupaten",
        16_800,
        False,
    )
    submission = Submission.objects.get()
    assert (submission.instance_id, submission.worker_id, submission.enrolment_id, submission.submitted_by_id) == (
        instance_id,
        worker_id,
        enrolment.id,
        officer.pk,
    )
    assert submission.xml_sha256 == hashlib.sha256(xml).hexdigest()
    # The 201 names the instance the server now holds (ODK's submissionMetadata), so Collect marks it sent.
    metadata = fromstring(response.content).find("{http://www.opendatakit.org/xforms}submissionMetadata")
    assert metadata.attrib == {
        "id": FORM_ID,
        "instanceID": instance_id,
        "submissionDate": submission.received_at.isoformat(),
        "isComplete": "true",
    }
    (attachment,) = Attachment.objects.all()
    assert (attachment.instance_id, attachment.filename, attachment.worker_id, bytes(attachment.data)) == (
        instance_id,
        "signature.png",
        worker_id,
        PNG,
    )
    assert sorted(AuditEvent.objects.values_list("object_type", "action")) == [
        ("enrolment", "create"),
        ("odk_submission", "create"),
        ("worker", "create"),
    ]


def test_a_resend_answers_201_and_stores_nothing_new(officer):
    xml = instance_xml(instance_id=new_instance_id())
    with collect_client(officer.username, PASSWORD) as client:
        first = post(client, xml, ("signature.png", PNG))
        again = post(client, xml, ("signature.png", PNG))
    assert (first.status_code, again.status_code) == (201, 201)
    assert (Worker.objects.count(), Enrolment.objects.count(), Submission.objects.count()) == (1, 1, 1)
    assert Attachment.objects.count() == 1
    assert AuditEvent.objects.count() == 3


def test_other_xml_under_the_same_instance_id_is_409_and_changes_nothing(officer):
    instance_id = new_instance_id()
    with collect_client(officer.username, PASSWORD) as client:
        assert post(client, instance_xml(instance_id=instance_id)).status_code == 201
        other = post(client, instance_xml(instance_id=instance_id, full_name="Siti Aminah Binti Umar"))
    assert other.status_code == 409
    assert message(other) == "Formulir lain sudah dikirim dengan instanceID ini."
    assert list(Worker.objects.values_list("full_name", "version")) == [("Siti Aminah", 1)]
    assert Submission.objects.count() == 1


def test_an_edit_with_deprecated_id_updates_the_registration(officer):
    first_id, edit_id = new_instance_id(), new_instance_id()
    with collect_client(officer.username, PASSWORD) as client:
        assert post(client, instance_xml(instance_id=first_id), ("signature.png", PNG)).status_code == 201
        edited = instance_xml(
            instance_id=edit_id, deprecated_id=first_id, full_name="Siti Aminah Umar", programs="JKK JKM JHT"
        )
        response = post(client, edited, ("signature.png", PNG))
    assert response.status_code == 201
    worker = Worker.objects.get()
    assert (worker.full_name, worker.version) == ("Siti Aminah Umar", 2)
    enrolment = Enrolment.objects.get()
    assert (enrolment.programs, enrolment.monthly_contribution, enrolment.version) == (["JKK", "JKM", "JHT"], 36_800, 2)
    assert sorted(Submission.objects.values_list("instance_id", "deprecated_id", "worker_id")) == sorted(
        [(first_id, "", worker.id), (edit_id, first_id, worker.id)]
    )
    assert sorted(Attachment.objects.values_list("instance_id", "worker_id")) == sorted(
        [(first_id, worker.id), (edit_id, worker.id)]
    )


def test_a_submission_split_over_two_posts(officer):
    instance_id = new_instance_id()
    xml = instance_xml(instance_id=instance_id)
    with collect_client(officer.username, PASSWORD) as client:
        part = post(client, xml, ("signature.png", PNG), incomplete=True)
        assert part.status_code == 202
        assert (Worker.objects.count(), Submission.objects.count()) == (0, 0)
        assert list(Attachment.objects.values_list("filename", "worker_id")) == [("signature.png", None)]
        last = post(client, xml, ("thumb.jpg", b"\xff\xd8\xff" + b"1" * 32))
    assert last.status_code == 201
    worker = Worker.objects.get()
    assert sorted(Attachment.objects.values_list("filename", "worker_id")) == [
        ("signature.png", worker.id),
        ("thumb.jpg", worker.id),
    ]
    assert Submission.objects.get().instance_id == instance_id


def test_a_village_outside_the_officers_areas_stores_nothing(officer):
    xml = instance_xml(instance_id=new_instance_id(), village=OTHER_REGENCY_VILLAGE)
    with collect_client(officer.username, PASSWORD) as client:
        response = post(client, xml, ("signature.png", PNG))
    assert response.status_code == 400
    assert message(response).startswith("Desa ini bukan desa Anda")
    assert Worker.objects.count() == Enrolment.objects.count() == Submission.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_invalid_field_data_is_kept_as_needs_correction(officer):
    xml = instance_xml(instance_id=new_instance_id(), nik="17040141019", birth_date="1990-02-30")
    with collect_client(officer.username, PASSWORD) as client:
        response = post(client, xml)
    assert response.status_code == 201
    assert message(response) == "Formulir diterima. Sebagian data perlu diperbaiki; data disimpan untuk itu."
    worker = Worker.objects.get()
    assert (worker.needs_correction, worker.nik, worker.birth_date) == (True, "17040141019", None)
    assert sorted(worker.errors) == ["birth_date", "nik"]
    enrolment = Enrolment.objects.get()
    assert (enrolment.needs_correction, enrolment.status) == (True, "draft")
    assert Submission.objects.get().needs_correction is True


def test_an_attachment_over_the_limit_is_413(officer, settings):
    settings.OPENROSA_MAX_ATTACHMENT_BYTES = 10
    with collect_client(officer.username, PASSWORD) as client:
        response = post(client, instance_xml(instance_id=new_instance_id()), ("signature.png", PNG))
    assert response.status_code == 413
    assert Worker.objects.count() == Attachment.objects.count() == 0


def test_not_an_instance_is_400(officer):
    with collect_client(officer.username, PASSWORD) as client:
        response = post(client, b"<registrasi><nik>1</nik></registrasi>")
        billion = post(client, b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
        plain = client.post("/openrosa/submission", content=b"<x/>", headers={"Content-Type": "text/xml"})
    assert (response.status_code, billion.status_code, plain.status_code) == (400, 400, 400)
    assert Worker.objects.count() == 0


def test_erasure_deletes_the_persons_attachments(officer):
    with collect_client(officer.username, PASSWORD) as client:
        assert post(client, instance_xml(instance_id=new_instance_id()), ("signature.png", PNG)).status_code == 201
    worker = Worker.objects.get()
    assert attachments_delete_for_worker(actor=Actor(user=officer), worker_id=worker.id) == 1
    assert Attachment.objects.count() == 0
    event = AuditEvent.objects.get(object_type="odk_attachment")
    assert (event.action, event.object_id, event.area_code, event.context) == (
        "delete",
        worker.id,
        "17.04.01.2001",
        {"files": 1},
    )


@pytest.mark.parametrize("digest", [True, False])
def test_wrong_passwords_are_refused_then_throttled(officer, settings, digest):
    settings.LOGIN_FAILURES_PER_USERNAME = 2
    with collect_client(officer.username, "not-the-password", digest=digest) as client:
        statuses = [client.head("/openrosa/submission").status_code for _ in range(3)]
    with collect_client(officer.username, PASSWORD, digest=digest) as client:
        locked_out = client.head("/openrosa/submission")
    # httpx's Digest retries once with a fresh challenge, so a request may count twice.
    assert (statuses[0], statuses[-1]) == (401, 429)
    assert locked_out.status_code == 429
    assert int(locked_out.headers["Retry-After"]) > 0


def test_basic_auth_works_over_the_same_accounts(officer):
    with collect_client(officer.username, PASSWORD, digest=False) as client:
        response = post(client, instance_xml(instance_id=new_instance_id()))
    assert response.status_code == 201
    assert Worker.objects.get().created_by_id == officer.pk


def test_digest_follows_the_password(officer):
    officer.set_password("kata-Sandi-Baru-2027")
    officer.save()
    with collect_client(officer.username, PASSWORD) as client:
        old = client.head("/openrosa/submission")
    with collect_client(officer.username, "kata-Sandi-Baru-2027") as client:
        new = client.head("/openrosa/submission")
    officer.set_unusable_password()
    officer.save()
    with collect_client(officer.username, "kata-Sandi-Baru-2027") as client:
        unusable = client.head("/openrosa/submission")
    assert (old.status_code, new.status_code, unusable.status_code) == (401, 204, 401)


def test_a_viewer_may_not_submit(odk_user):
    viewer = odk_user(role="viewer")
    with collect_client(viewer.username, PASSWORD) as client:
        listed = client.get("/openrosa/formList")
        response = post(client, instance_xml(instance_id=new_instance_id()))
    assert "<xform>" not in listed.text
    assert response.status_code in (400, 403)
    assert Worker.objects.count() == 0


def test_an_expired_nonce_is_stale_and_a_replayed_one_refused(officer, settings):
    from django.test import Client

    from openrosa import digest

    def authorization(nonce: str, nc: str = "00000001") -> str:
        answer = digest.DigestResponse(
            username=officer.username, realm="village-enrolment", nonce=nonce, uri="/openrosa/submission",
            response="", algorithm="MD5", qop="auth", nc=nc, cnonce="0a4f113b",
        )  # fmt: skip
        ha1 = digest.ha1("MD5", officer.username, "village-enrolment", PASSWORD)
        response = digest.expected_response(answer, method="HEAD", ha1_hex=ha1)
        return (
            f'Digest username="{officer.username}", realm="village-enrolment", nonce="{nonce}", '
            f'uri="/openrosa/submission", algorithm=MD5, qop=auth, nc={nc}, cnonce="0a4f113b", response="{response}"'
        )

    client = Client()
    fresh = digest.nonce_new()
    first = client.head("/openrosa/submission", HTTP_AUTHORIZATION=authorization(fresh))
    replayed = client.head("/openrosa/submission", HTTP_AUTHORIZATION=authorization(fresh))
    next_count = client.head("/openrosa/submission", HTTP_AUTHORIZATION=authorization(fresh, "00000002"))
    old = digest.nonce_new(now=time.time() - settings.OPENROSA_DIGEST_NONCE_SECONDS - 5)
    expired = client.head("/openrosa/submission", HTTP_AUTHORIZATION=authorization(old))
    forged = client.head("/openrosa/submission", HTTP_AUTHORIZATION=authorization("AAAA" + fresh[4:]))
    assert (first.status_code, replayed.status_code, next_count.status_code) == (204, 401, 204)
    assert (expired.status_code, forged.status_code) == (401, 401)
    assert "stale=true" in expired["WWW-Authenticate"]
    assert "stale=true" not in forged["WWW-Authenticate"]
    assert first.content == b""


def test_files_of_a_split_submission_never_completed_are_pruned(officer):
    import datetime as dt

    from django.utils import timezone

    from openrosa.tasks import openrosa_prune_pending_attachments

    with collect_client(officer.username, PASSWORD) as client:
        assert (
            post(client, instance_xml(instance_id=new_instance_id()), ("a.png", PNG), incomplete=True).status_code
            == 202
        )
        assert post(client, instance_xml(instance_id=new_instance_id()), ("b.png", PNG)).status_code == 201
        assert (
            post(
                client,
                instance_xml(instance_id=new_instance_id(), nik="1704014101900002"),
                ("c.png", PNG),
                incomplete=True,
            ).status_code
            == 202
        )
    Attachment.objects.filter(filename__in=["a.png", "b.png"]).update(
        received_at=timezone.now() - dt.timedelta(hours=73)
    )
    assert openrosa_prune_pending_attachments() == 1
    assert sorted(Attachment.objects.values_list("filename", flat=True)) == ["b.png", "c.png"]


def test_messages_in_english_on_accept_language_en(officer):
    with collect_client(officer.username, PASSWORD) as client:
        response = client.post(
            "/openrosa/submission",
            files=submission_files(instance_xml(instance_id=new_instance_id())),
            headers={"Accept-Language": "en"},
        )
    assert response.status_code == 201
    assert message(response) == "Form received. Thank you."


def test_an_edit_of_a_verified_enrolment_is_409_and_changes_nothing(officer):
    first_id = new_instance_id()
    with collect_client(officer.username, PASSWORD) as client:
        assert post(client, instance_xml(instance_id=first_id)).status_code == 201
        Enrolment.objects.update(status="verified")
        edit = instance_xml(instance_id=new_instance_id(), deprecated_id=first_id, programs="JKK JKM JHT")
        response = post(client, edit)
    assert response.status_code == 409
    assert list(Enrolment.objects.values_list("programs", "version")) == [(["JKK", "JKM"], 1)]
    assert Submission.objects.count() == 1
