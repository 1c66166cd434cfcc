"""Erasure beyond the worker row: refused while a claim is open, the person's ODK Collect files
deleted through the ErasureStep interface, and a misconfigured step list fails loudly."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from enrolment.funding.models import Claim, ClaimStatus, DeathReport
from enrolment.privacy.erasure import erasure_steps
from openrosa.models import Attachment
from tests.factories import WorkerFactory
from villages.models import AuditEvent, Role
from workers.models import Worker

REQUEST = {"reason": "permintaan ahli waris", "request_reference": "SR-2026-014"}


@pytest.fixture(autouse=True)
def _fresh_steps():
    erasure_steps.cache_clear()
    yield
    erasure_steps.cache_clear()


def claim_for(worker, *, status, program="JKM"):
    death = DeathReport.objects.create(worker=worker, date_of_death=dt.date(2026, 11, 2), cause="other", place="Kaur")
    return Claim.objects.create(
        id=f"c-{worker.id}", death=death, worker=worker, village_id=worker.village_id, program=program,
        covered=True, status=status, status_changed_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
    )  # fmt: skip


def attachment(worker, user, name, instance="uuid:odk-1"):
    return Attachment.objects.create(
        instance_id=instance, filename=name, content_type="image/jpeg", size=4, sha256="0" * 64, data=b"\xff\xd8ktp",
        submitted_by=user, worker=worker,
    )  # fmt: skip


@pytest.mark.parametrize("status", [ClaimStatus.DOCUMENTS_PENDING, ClaimStatus.READY, ClaimStatus.FILED])
def test_an_open_claim_restricts_erasure_and_nothing_changes(api, make_user, status):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    worker = WorkerFactory(id="w-open", nik="1704014101900881", full_name="Siti Rahayu")
    claim = claim_for(worker, status=status)
    attachment(worker, operator, "ktp.jpg")

    response = api(operator).post(f"/api/v1/workers/{worker.id}/erase", REQUEST, format="json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "erasure_restricted"
    assert error["details"] == {"claims": [{"id": claim.id, "program": "JKM", "status": status}]}
    stored = Worker.objects.get(pk=worker.pk)
    assert (stored.nik, stored.full_name, stored.erased_at, stored.version) == (
        "1704014101900881",
        "Siti Rahayu",
        None,
        1,
    )
    assert list(Attachment.objects.values_list("worker_id", "filename")) == [(worker.id, "ktp.jpg")]
    assert not AuditEvent.objects.filter(action="erase").exists()


def test_the_restriction_message_is_indonesian_by_default_and_english_on_request(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    worker = WorkerFactory(id="w-lang")
    claim_for(worker, status=ClaimStatus.FILED)
    client = api(operator)

    indonesian = client.post(f"/api/v1/workers/{worker.id}/erase", REQUEST, format="json")
    english = client.post(f"/api/v1/workers/{worker.id}/erase", REQUEST, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert english.json()["error"]["message"] == (
        "This person's data is still needed (a live enrolment or an open claim); restrict processing instead."
    )
    assert indonesian.json()["error"]["message"] == (
        "Data orang ini masih diperlukan (kepesertaan yang masih berjalan atau klaim yang masih terbuka); "
        "batasi pemrosesannya saja."
    )


@pytest.mark.parametrize("status", [ClaimStatus.PAID, ClaimStatus.REFUSED])
def test_a_closed_claim_allows_erasure_which_deletes_the_odk_files(api, make_user, status):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    worker = WorkerFactory(id="w-closed", nik="1704014101900882")
    other = WorkerFactory(id="w-other")
    claim_for(worker, status=status)
    attachment(worker, operator, "ktp.jpg")
    attachment(worker, operator, "kk.jpg")
    attachment(other, operator, "ktp.jpg", instance="uuid:odk-2")
    pending = attachment(None, operator, "ttd.png", instance="uuid:odk-3")
    client = api(operator)

    erased = client.post(f"/api/v1/workers/{worker.id}/erase", REQUEST, format="json")
    again = client.post(f"/api/v1/workers/{worker.id}/erase", REQUEST, format="json")

    assert erased.status_code == again.status_code == 200
    assert sorted(Attachment.objects.values_list("instance_id", "filename", "worker_id")) == [
        ("uuid:odk-2", "ktp.jpg", other.id),
        (pending.instance_id, "ttd.png", None),
    ]
    assert Worker.objects.get(pk=worker.pk).nik == ""
    assert Claim.objects.get(worker=worker).status == status  # the claim's record stays
    assert list(
        AuditEvent.objects.filter(object_id=worker.id, action__in=("erase", "delete"))
        .order_by("id")
        .values_list("action", "object_type", "context")
    ) == [
        ("delete", "odk_attachment", {"files": 2}),
        (
            "erase",
            "worker",
            {**REQUEST, "version": 2, "claim_heirs": 0, "duplicate_pairs": 0, "odk_attachments": 2},
        ),  # no heirs on it
    ]


def test_without_the_setting_check_and_erasure_fail_loudly(api, make_user, settings):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    worker = WorkerFactory(id="w-unset", nik="1704014101900883")
    attachment(worker, operator, "ktp.jpg")
    del settings.PRIVACY_ERASURE_STEPS

    with pytest.raises(SystemCheckError, match=r"enrolment\.E001.*PRIVACY_ERASURE_STEPS is not set"):
        call_command("check")
    with pytest.raises(ImproperlyConfigured, match="PRIVACY_ERASURE_STEPS is not set"):
        api(operator).post(f"/api/v1/workers/{worker.id}/erase", REQUEST, format="json")
    assert Worker.objects.get(pk=worker.pk).nik == "1704014101900883"
    assert Attachment.objects.count() == 1


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], r"does not list the erasure step of: openrosa \(openrosa.erasure.OpenRosaAttachments\)"),
        (["openrosa.erasure.Nothing"], "cannot import 'openrosa.erasure.Nothing'"),
        (["openrosa.services.pending_attachments_prune"], "is not an ErasureStep"),
    ],
)
def test_a_step_list_that_leaves_an_app_out_or_names_no_step_fails_check(settings, steps, message):
    settings.PRIVACY_ERASURE_STEPS = steps

    with pytest.raises(ImproperlyConfigured, match=message):
        erasure_steps()
    erasure_steps.cache_clear()
    with pytest.raises(SystemCheckError, match=r"enrolment\.E001"):
        call_command("check")
