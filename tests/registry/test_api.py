"""The operators' registry API over HTTP: who may, what they see (scope), retry and sync now."""

from __future__ import annotations

import pytest
from django.utils import timezone

from enrolment.models import Enrolment, Status
from enrolment.registry import services
from enrolment.registry.models import BatchStatus, RegistryBatch
from tests.conftest import GEDUNG_WANI, KAUR, OTHER_REGENCY_VILLAGE, VILLAGE_B
from tests.registry.conftest import make_verified, stub_faults
from villages.models import AuditEvent, Role

pytestmark = pytest.mark.django_db

LIST = "/api/v1/registry/batches"


def detail(batch: RegistryBatch) -> str:
    return f"{LIST}/{batch.id}"


@pytest.fixture
def mixed_batch(registry) -> RegistryBatch:
    """A completed batch with two records in Gedung Wani (Kaur) and one in Bengkulu Selatan."""
    make_verified(2, village=GEDUNG_WANI)
    make_verified(1, village=OTHER_REGENCY_VILLAGE)
    batch = services.registry_batch_claim()
    services.registry_batch_send(batch_id=str(batch.id))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    return batch


@pytest.fixture
def failed_batch(registry, control) -> RegistryBatch:
    """A batch the registry refused as malformed: the third record's worker declared no income."""
    make_verified(2)
    make_verified(1, monthly_income=None)
    batch = services.registry_batch_claim()
    services.registry_batch_send(batch_id=str(batch.id))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    return batch


@pytest.mark.parametrize("role", [Role.FIELD_OFFICER, Role.VIEWER])
def test_roles_without_registry_access_are_refused_everywhere(api, make_user, mixed_batch, role):
    client = api(make_user(role=role, areas=(GEDUNG_WANI,)))

    answers = [
        client.get(LIST),
        client.get(detail(mixed_batch)),
        client.post(f"{detail(mixed_batch)}/retry"),
        client.post("/api/v1/registry/sync"),
    ]

    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    assert {a.json()["error"]["code"] for a in answers} == {"permission_denied"}
    assert not AuditEvent.objects.filter(object_type="registry_batch").exists()


def test_anonymous_callers_are_401(api, mixed_batch):
    assert api().get(LIST).status_code == 401


def test_an_operator_sees_the_batch_state_and_only_the_records_of_their_village(api, make_user, mixed_batch):
    client = api(make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,)))

    listed = client.get(LIST).json()
    shown = client.get(detail(mixed_batch)).json()

    assert [b["id"] for b in listed["results"]] == [str(mixed_batch.id)]
    assert "results" not in listed["results"][0]
    assert shown["status"] == "completed"
    assert shown["record_count"] == 3
    assert shown["outcomes"] == {"pending": 0, "accepted": 3, "duplicate": 0, "rejected": 0}
    assert (shown["attempts"], shown["failures"], shown["last_error"]) == (1, 0, None)
    assert [r["village"] for r in shown["results"]] == [GEDUNG_WANI, GEDUNG_WANI]
    first = mixed_batch.items.get(position=0)
    assert shown["results"][0] == {
        "enrolment": first.enrolment_id,
        "village": GEDUNG_WANI,
        "position": 0,
        "outcome": "accepted",
        "participant_number": first.participant_number,
        "reason_code": None,
        "reason": None,
        "error": None,
    }


def test_a_supervisor_sees_their_regency_and_an_admin_everything(api, make_user, admin_user, mixed_batch):
    supervisor = api(make_user(role=Role.SUPERVISOR, areas=(KAUR,))).get(detail(mixed_batch)).json()
    admin = api(admin_user).get(detail(mixed_batch)).json()

    assert [r["village"] for r in supervisor["results"]] == [GEDUNG_WANI, GEDUNG_WANI]
    assert [r["village"] for r in admin["results"]] == [GEDUNG_WANI, GEDUNG_WANI, OTHER_REGENCY_VILLAGE]


def test_a_batch_without_records_in_scope_is_404_everywhere(api, make_user, failed_batch):
    client = api(make_user(role=Role.VILLAGE_OPERATOR, areas=(VILLAGE_B,)))

    listed = client.get(LIST)
    shown = client.get(detail(failed_batch))
    retried = client.post(f"{detail(failed_batch)}/retry")

    assert listed.json()["results"] == []
    assert (shown.status_code, retried.status_code) == (404, 404)
    assert retried.json()["error"]["code"] == "not_found"
    failed_batch.refresh_from_db()
    assert failed_batch.status == BatchStatus.FAILED
    assert not AuditEvent.objects.filter(object_type="registry_batch").exists()


def test_unknown_or_malformed_batch_ids_are_404(api, admin_user):
    client = api(admin_user)

    assert client.get(f"{LIST}/not-a-uuid").status_code == 404
    assert client.get(f"{LIST}/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.post(f"{LIST}/not-a-uuid/retry").status_code == 404


def test_the_list_filters_by_status(api, admin_user, mixed_batch, failed_batch):
    client = api(admin_user)

    failed = client.get(LIST, {"status": "failed"}).json()["results"]
    both = client.get(f"{LIST}?status=failed&status=completed").json()["results"]
    bad = client.get(LIST, {"status": "lost"})

    assert [b["id"] for b in failed] == [str(failed_batch.id)]
    assert {b["id"] for b in both} == {str(failed_batch.id), str(mixed_batch.id)}
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_failed"
    assert list(bad.json()["error"]["details"]["fields"]) == ["status"]


def test_a_failed_batch_shows_the_registrys_error_and_the_record_at_fault(api, admin_user, failed_batch):
    shown = api(admin_user).get(detail(failed_batch)).json()

    assert shown["status"] == "failed"
    assert shown["last_error"]["code"] == "invalid_record"
    assert shown["last_error"]["http_status"] == 400
    assert shown["last_error"]["details"] == {"index": 2, "field": "monthly_income"}
    assert shown["failed_at"] is not None
    assert [r["error"] is not None for r in shown["results"]] == [False, False, True]
    assert shown["results"][2]["error"]["field"] == "monthly_income"


def test_an_operator_retries_a_failed_batch_after_the_fix_and_it_completes(
    api, make_user, failed_batch, control, django_capture_on_commit_callbacks
):
    operator = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,))
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))
    at_fault = failed_batch.items.get(position=2).enrolment
    fixed = api(officer).patch(f"/api/v1/workers/{at_fault.worker_id}", {"monthly_income": 900_000}, format="json")
    assert fixed.status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        retried = api(operator).post(f"{detail(failed_batch)}/retry")

    assert retried.status_code == 202
    failed_batch.refresh_from_db()
    assert failed_batch.status == BatchStatus.COMPLETED
    assert failed_batch.retried_by == operator
    assert failed_batch.payload_rebuilt_at is not None
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.ACTIVE}
    assert control.get("/stats").json()["refs_registered_more_than_once"] == []
    assert len(control.get("/stats").json()["registrations_per_ref"]) == 3
    event = AuditEvent.objects.get(object_type="registry_batch", object_id=str(failed_batch.id))
    assert (event.actor, event.action, event.changes) == (operator, "status", {"status": ["failed", "pending"]})
    assert event.context == {"rebuilt": True, "last_error": "invalid_record"}


def test_retrying_twice_or_a_completed_batch(api, admin_user, failed_batch, control, settings):
    stub_faults(control, error_5xx=1)  # the resend will fail: the batch stays on its way
    client = api(admin_user)

    first = client.post(f"{detail(failed_batch)}/retry")
    second = client.post(f"{detail(failed_batch)}/retry")

    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["status"] == second.json()["status"] == "pending"
    assert AuditEvent.objects.filter(object_type="registry_batch").count() == 1
    RegistryBatch.objects.filter(pk=failed_batch.pk).update(
        status=BatchStatus.COMPLETED, completed_at=timezone.now(), next_attempt_at=None
    )
    completed = client.post(f"{detail(failed_batch)}/retry", HTTP_ACCEPT_LANGUAGE="en")
    assert completed.status_code == 409
    assert completed.json()["error"] == {
        "code": "batch_not_retryable",
        "message": "This batch completed; there is nothing to retry.",
        "details": {},
    }


def test_a_retry_after_a_transient_cap_resends_the_same_bytes(registry, control, api, admin_user, settings):
    make_verified(1)
    stub_faults(control, error_5xx=1)
    settings.REGISTRY_MAX_RETRIES = 0
    batch = services.registry_batch_claim()
    services.registry_batch_send(batch_id=str(batch.id))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    stub_faults(control)

    api(admin_user).post(f"{detail(batch)}/retry")

    after = RegistryBatch.objects.get(pk=batch.pk)
    assert (after.status, after.payload, after.payload_rebuilt_at) == (BatchStatus.PENDING, batch.payload, None)


def test_sync_now_claims_and_sends_and_coalesces_repeats(
    api, make_user, registry, control, django_capture_on_commit_callbacks
):
    enrolments = make_verified(3)
    client = api(make_user(role=Role.SUPERVISOR, areas=(KAUR,)))

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post("/api/v1/registry/sync")
    again = client.post("/api/v1/registry/sync")

    assert (first.status_code, first.json()) == (202, {"scheduled": True})
    assert (again.status_code, again.json()) == (202, {"scheduled": False})
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.ACTIVE}
    assert len(control.get("/stats").json()["registrations_per_ref"]) == len(enrolments)


def test_sync_now_without_a_registry_is_503_in_the_callers_language(api, admin_user, settings):
    settings.REGISTRY_URL = ""

    indonesian = api(admin_user).post("/api/v1/registry/sync")
    english = api(admin_user, language="en").post("/api/v1/registry/sync")

    assert (indonesian.status_code, english.status_code) == (503, 503)
    assert indonesian.json()["error"]["code"] == "registry_not_configured"
    assert english.json()["error"]["message"] == "The central registry is not configured (REGISTRY_URL)."
    assert indonesian.json()["error"]["message"] != english.json()["error"]["message"]


def test_enrolments_show_the_registry_status(api, make_user, mixed_batch):
    enrolment = mixed_batch.items.get(position=0).enrolment

    shown = api(make_user()).get(f"/api/v1/enrolments/{enrolment.id}").json()

    assert (shown["status"], shown["registry_status"], shown["registry_status_date"]) == (
        "active", "active", timezone.localdate().isoformat(),
    )  # fmt: skip
    assert shown["registry_number"] == enrolment.registry_number
