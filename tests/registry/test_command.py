"""`manage.py sync_registry`: one cycle in the foreground, against the stub."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from enrolment.models import Enrolment, Status
from enrolment.registry.models import BatchStatus, RegistryBatch
from tests.conftest import committed
from tests.registry.conftest import make_verified, stub_faults


def sync(*args: str) -> str:
    out = io.StringIO()
    call_command("sync_registry", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_one_cycle_claims_sends_and_writes_back(registry, control, settings):
    settings.REGISTRY_BATCH_SIZE = 2
    enrolments = make_verified(5)

    output = sync("--concurrency", "1")

    assert output.startswith(
        "registry sync: 5 records claimed in 3 batches, 0 swept, 0 pending, 0 sending, 0 polling, 3 completed, 0 failed ("
    )
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.ACTIVE}
    assert control.get("/stats").json()["registrations_per_ref"] == {e.id: 1 for e in enrolments}
    assert sync("--concurrency", "1").startswith("registry sync: 0 records claimed in 0 batches")


@pytest.mark.django_db
def test_one_cycle_leaves_transient_failures_for_later_and_wait_finishes_them(registry, control, settings):
    settings.REGISTRY_BATCH_SIZE = 2
    settings.REGISTRY_RETRY_BASE_SECONDS = 0.05
    settings.REGISTRY_RETRY_MAX_SECONDS = 0.2
    settings.REGISTRY_MAX_RETRIES = 30
    enrolments = make_verified(6)
    stub_faults(control, error_5xx=1)

    once = sync("--concurrency", "1")
    stub_faults(control, error_5xx=0.5, drop_after_process=0.2, seed=3)
    waited = sync("--concurrency", "1", "--wait")

    assert "3 pending" in once
    assert " 3 completed, 0 failed" in waited
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.ACTIVE}
    stats = control.get("/stats").json()
    assert stats["registrations_per_ref"] == {e.id: 1 for e in enrolments}
    assert stats["faults"]["error_5xx"] > 3


@pytest.mark.django_db
def test_reconcile_applies_the_registrys_changes(registry, control):
    (enrolment,) = make_verified(1)
    sync("--concurrency", "1")
    control.post("/changes", json={"ref": enrolment.id, "status": "deceased", "effective_date": "2026-12-24"})

    output = sync("--concurrency", "1", "--reconcile")

    assert "registry changes: 1 read, 1 applied, 0 already applied, 0 unmatched" in output
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.registry_status) == (Status.ENDED, "deceased")


@pytest.mark.django_db
def test_without_a_registry_the_command_says_so(settings):
    settings.REGISTRY_URL = ""
    make_verified(1)

    with pytest.raises(CommandError, match="REGISTRY_URL is not set"):
        sync()

    assert Enrolment.objects.get().status == Status.VERIFIED


@committed
def test_several_batches_at_once_on_their_own_connections(registry, control, settings):
    settings.REGISTRY_BATCH_SIZE = 50
    enrolments = make_verified(400)

    output = sync("--concurrency", "4")

    assert " 8 completed, 0 failed" in output
    assert RegistryBatch.objects.filter(status=BatchStatus.COMPLETED).count() == 8
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.ACTIVE}
    stats = control.get("/stats").json()
    assert stats["registrations_per_ref"] == {e.id: 1 for e in enrolments}
