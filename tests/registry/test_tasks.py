"""The Celery side: the tasks as registered, the beat schedule, and the tasks run in-process."""

from __future__ import annotations

import pytest
from celery.schedules import crontab
from django.conf import settings

from config.celery import app as celery_app
from enrolment.models import Enrolment, Status
from enrolment.registry import tasks
from enrolment.registry.client import RegistryUnavailable
from tests.registry.conftest import make_verified, stub_faults


def test_the_tasks_are_registered_with_their_delivery_guarantees():
    send = celery_app.tasks["enrolment.registry.send_batch"]

    assert {"enrolment.registry.sync", "enrolment.registry.reconcile"} <= set(celery_app.tasks)
    assert (send.acks_late, send.reject_on_worker_lost, send.max_retries) == (True, True, None)
    assert celery_app.tasks["enrolment.registry.sync"].acks_late is True
    assert celery_app.conf.worker_prefetch_multiplier == 1


def test_the_visibility_timeout_outlasts_every_countdown():
    longest = max(settings.REGISTRY_RETRY_MAX_SECONDS, settings.REGISTRY_RETRY_AFTER_MAX_SECONDS)

    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > longest + settings.REGISTRY_LEASE_SECONDS


def test_beat_runs_a_cycle_every_few_minutes_a_nightly_full_pass_and_the_reconciliation():
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert schedule["registry-sync"]["task"] == "enrolment.registry.sync"
    assert schedule["registry-sync"]["schedule"] == 180.0
    assert schedule["registry-full-pass"] == {
        "task": "enrolment.registry.sync",
        "schedule": crontab(hour=23, minute=0),
        "kwargs": {"full": True},
    }
    assert schedule["registry-reconcile"] == {
        "task": "enrolment.registry.reconcile",
        "schedule": crontab(hour=2, minute=30),
    }


@pytest.mark.django_db
def test_in_process_the_sync_task_claims_and_sends_once_committed(
    registry, control, django_capture_on_commit_callbacks
):
    enrolments = make_verified(3)

    with django_capture_on_commit_callbacks(execute=True):
        summary = tasks.registry_sync.delay().get()

    assert summary == {"swept": 0, "batches": 1, "records": 3, "due": 1}
    assert set(Enrolment.objects.values_list("status", flat=True)) == {Status.ACTIVE}
    assert control.get("/stats").json()["registrations_per_ref"] == {e.id: 1 for e in enrolments}


@pytest.mark.django_db
def test_in_process_a_transient_failure_waits_for_the_next_cycle(registry, control, django_capture_on_commit_callbacks):
    make_verified(1)
    stub_faults(control, error_5xx=1)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.registry_sync.delay()

    # In-process tasks do not retry themselves (that would retry at once, without backoff).
    assert Enrolment.objects.get().status == Status.QUEUED
    assert control.get("/stats").json()["requests"]["POST /v1/batches"] in ({"500": 1}, {"502": 1}, {"503": 1})


@pytest.mark.django_db
def test_the_tasks_do_nothing_without_a_registry(settings):
    settings.REGISTRY_URL = ""
    make_verified(1)

    assert tasks.registry_sync.delay().get() == {}
    assert tasks.registry_reconcile.delay().get() == {}
    assert Enrolment.objects.get().status == Status.VERIFIED


@pytest.mark.django_db
def test_a_failing_feed_fails_the_reconciliation_task_in_process(registry, control):
    stub_faults(control, changes_error_5xx=1)

    with pytest.raises(RegistryUnavailable):
        tasks.registry_reconcile.delay()
