"""Claiming verified enrolments into batches: what a batch holds, and that no record is taken twice."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from enrolment.models import Enrolment, Status
from enrolment.registry import records, services
from enrolment.registry.models import BatchStatus, RegistryBatch, RegistryBatchItem
from enrolment.services import InvalidTransition, enrolment_transition
from tests.conftest import OTHER_REGENCY_VILLAGE, committed
from tests.factories import EnrolmentFactory, WorkerFactory
from tests.registry.conftest import make_verified
from villages.audit import Actor
from villages.models import AuditEvent, Role


def test_a_claim_queues_verified_enrolments_in_one_batch_with_a_frozen_body(db):
    enrolments = make_verified(3)
    other = make_verified(1, village=OTHER_REGENCY_VILLAGE, monthly_income=None, phone="")[0]

    batch = services.registry_batch_claim()

    assert batch is not None
    assert (batch.status, batch.record_count, batch.attempts, batch.failures) == (BatchStatus.PENDING, 4, 0, 0)
    body = json.loads(batch.payload)
    assert body["batch_id"] == str(batch.id)
    assert body["submitted_at"].endswith("+07:00")
    first = enrolments[0]
    assert body["records"][0] == {
        "ref": first.id,
        "nik": first.worker.nik,
        "full_name": first.worker.full_name,
        "birth_date": first.worker.birth_date.isoformat(),
        "sex": "M",
        "phone": "+6281234567890",
        "village_code": "17.04.01.2001",
        "occupation": "nelayan",
        "monthly_income": 1_000_000,
        "segment": "BPU",
        "programs": ["JKK", "JKM"],
        "funding_source": "apbd_kabupaten",
        "coverage_start": "2026-12-01",
        "monthly_contribution": 16_800,
    }
    assert body["records"][3]["phone"] is None
    assert body["records"][3]["monthly_income"] is None
    items = list(batch.items.order_by("position").values_list("position", "enrolment_id", "village_id", "outcome"))
    assert items == [
        (0, enrolments[0].id, "17.04.01.2001", "pending"),
        (1, enrolments[1].id, "17.04.01.2001", "pending"),
        (2, enrolments[2].id, "17.04.01.2001", "pending"),
        (3, other.id, OTHER_REGENCY_VILLAGE, "pending"),
    ]
    queued = Enrolment.objects.filter(id__in=[e.id for e in [*enrolments, other]])
    assert set(queued.values_list("status", "version", "status_changed_by")) == {(Status.QUEUED, 2, None)}
    events = AuditEvent.objects.filter(object_type="enrolment", action="status")
    assert events.count() == 4
    assert set(events.values_list("actor_username", "actor_id")) == {("system", None)}
    assert events.get(object_id=other.id).changes == {"status": ["verified", "queued"]}
    assert events.get(object_id=other.id).context == {"batch": str(batch.id)}
    assert events.get(object_id=other.id).area_code == OTHER_REGENCY_VILLAGE
    assert services.registry_batch_claim() is None


def test_only_verified_enrolments_of_sound_workers_are_claimed(db):
    (verified,) = make_verified(1)
    for status in (Status.DRAFT, Status.SUBMITTED, Status.ACTIVE, Status.REJECTED, Status.ENDED):
        EnrolmentFactory(status=status)
    flagged_worker = EnrolmentFactory(status=Status.VERIFIED, worker=WorkerFactory(needs_correction=True))

    batch = services.registry_batch_claim()

    assert list(batch.items.values_list("enrolment_id", flat=True)) == [verified.id]
    flagged_worker.refresh_from_db()
    assert flagged_worker.status == Status.VERIFIED


def test_claims_take_the_oldest_first_and_at_most_the_batch_size(db, settings):
    settings.REGISTRY_BATCH_SIZE = 2
    enrolments = make_verified(5)

    batches = [services.registry_batch_claim() for _ in range(4)]

    assert [b.record_count if b else None for b in batches] == [2, 2, 1, None]
    claimed = [list(b.items.order_by("position").values_list("enrolment_id", flat=True)) for b in batches[:3]]
    assert claimed == [[e.id for e in enrolments[0:2]], [e.id for e in enrolments[2:4]], [enrolments[4].id]]


def test_a_batch_stops_at_the_byte_limit_and_the_rest_waits(db, monkeypatch):
    enrolments = make_verified(3)
    one_record = len(records.encode(records.registry_record(records.record_rows(Enrolment.objects.all())[0])))
    header = len(records.batch_body(uuid.uuid4(), timezone.now().replace(microsecond=1), []))
    # Room for two records and a little slack, not for three.
    monkeypatch.setattr(records, "MAX_BATCH_BYTES", header + 2 * (one_record + 1) + 20)

    first = services.registry_batch_claim()
    second = services.registry_batch_claim()

    assert first.record_count == 2
    assert len(first.payload.encode()) <= records.MAX_BATCH_BYTES
    assert list(second.items.values_list("enrolment_id", flat=True)) == [enrolments[2].id]


def test_the_database_refuses_a_second_open_item_for_one_enrolment(db):
    make_verified(1)
    batch = services.registry_batch_claim()
    item = batch.items.get()
    other = RegistryBatch.objects.create(payload="{}", record_count=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        RegistryBatchItem.objects.create(
            batch=other, enrolment_id=item.enrolment_id, village_id=item.village_id, position=0
        )

    assert RegistryBatchItem.objects.filter(enrolment_id=item.enrolment_id).count() == 1


@committed
def test_two_concurrent_claimers_never_share_a_record(settings):
    settings.REGISTRY_BATCH_SIZE = 400
    enrolments = make_verified(1000)
    first_holds_its_rows = threading.Event()
    second_done = threading.Event()
    claimed: dict[str, list[str]] = {}
    failures: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                batch = services._claim(size=400)
                claimed["first"] = list(batch.items.values_list("enrolment_id", flat=True))
                first_holds_its_rows.set()
                # Keep the rows locked until the second claimer has finished without waiting.
                assert second_done.wait(20)
        except BaseException as problem:
            failures.append(problem)
        finally:
            connection.close()

    def second() -> None:
        try:
            assert first_holds_its_rows.wait(20)
            batch = services.registry_batch_claim()
            claimed["second"] = list(batch.items.values_list("enrolment_id", flat=True))
        except BaseException as problem:
            failures.append(problem)
        finally:
            second_done.set()
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert failures == []
    assert len(claimed["first"]) == len(claimed["second"]) == 400
    assert set(claimed["first"]).isdisjoint(claimed["second"])
    third = services.registry_batch_claim()
    everything = (
        set(claimed["first"]) | set(claimed["second"]) | set(third.items.values_list("enrolment_id", flat=True))
    )
    assert everything == {e.id for e in enrolments}
    assert Enrolment.objects.filter(status=Status.QUEUED).count() == 1000
    assert RegistryBatchItem.objects.count() == 1000


@committed
def test_an_operator_rejecting_during_a_claim_waits_and_then_finds_it_queued(make_user):
    (enrolment,) = make_verified(1)
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    claim_holds = threading.Event()
    outcome: dict[str, object] = {}

    def claimer() -> None:
        with transaction.atomic():
            services._claim(size=10)
            claim_holds.set()
            threading.Event().wait(0.5)  # the operator's request arrives meanwhile
        connection.close()

    thread = threading.Thread(target=claimer)
    thread.start()
    assert claim_holds.wait(10)
    try:
        enrolment_transition(
            actor=Actor(user=operator), enrolment_id=enrolment.id, action="reject", reason="salah", if_match=None
        )
    except InvalidTransition as refused:
        outcome["error"] = refused
    thread.join(10)

    assert isinstance(outcome.get("error"), InvalidTransition)
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.status_reason) == (Status.QUEUED, "")
