"""The nightly reconciliation: the registry's status changes applied once, with a stored cursor."""

from __future__ import annotations

import datetime as dt

import pytest

from enrolment.models import Enrolment, Status
from enrolment.registry import reconciliation, services
from enrolment.registry.client import ChangesPage, InvalidChange, RegistryUnavailable, StatusChange
from enrolment.registry.models import RegistryChange, RegistryCursor
from tests.registry.conftest import make_verified, stub_faults
from villages.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(registry) -> list[Enrolment]:
    """Three enrolments registered through the stub (active, with numbers)."""
    enrolments = make_verified(3)
    batch = services.registry_batch_claim()
    services.registry_batch_send(batch_id=str(batch.id))
    for enrolment in enrolments:
        enrolment.refresh_from_db()
        assert enrolment.status == Status.ACTIVE
    return enrolments


def post_changes(control, *changes: dict) -> None:
    assert control.post("/changes", json=list(changes)).status_code == 201


def cursor() -> str:
    return RegistryCursor.objects.get(name="changes").value


def status_events(enrolment: Enrolment) -> list[dict]:
    """The audited changes made by the reconciliation (not the sync's verified → queued → active)."""
    changes = AuditEvent.objects.filter(object_id=enrolment.id).order_by("id").values_list("changes", flat=True)
    return [c for c in changes if c.get("status", [None])[0] not in ("verified", "queued")]


def test_a_deceased_participant_ends_the_enrolment(active, control):
    enrolment = active[0]
    post_changes(control, {"ref": enrolment.id, "status": "deceased", "effective_date": "2026-12-20", "reason": "JKM"})

    report = reconciliation.registry_reconcile()

    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.registry_status, enrolment.registry_status_date) == (
        Status.ENDED, "deceased", dt.date(2026, 12, 20),
    )  # fmt: skip
    assert enrolment.status_reason == "registry: deceased, effective 2026-12-20: JKM"
    assert enrolment.status_changed_by is None
    assert enrolment.version == 4
    event = AuditEvent.objects.get(object_id=enrolment.id, changes__status=["active", "ended"])
    assert (event.actor_username, event.action) == ("system", "status")
    assert event.changes == {"status": ["active", "ended"], "registry_status": ["active", "deceased"]}
    assert event.context == {
        "participant_number": enrolment.registry_number,
        "effective_date": "2026-12-20",
        "reason": "JKM",
    }
    assert (report.pages, report.changes, report.applied) == (1, 1, 1)
    assert cursor() == report.cursor != ""
    log = RegistryChange.objects.get()
    assert (log.enrolment, log.outcome, log.status, log.page_cursor) == (enrolment, "applied", "deceased", "")


def test_a_page_served_again_is_applied_once(active, control):
    enrolment = active[1]
    post_changes(control, {"ref": enrolment.id, "status": "deceased", "effective_date": "2026-12-20"})
    stub_faults(control, changes_repeat=1)

    repeated = reconciliation.registry_reconcile(max_pages=3)
    stub_faults(control)
    moved_on = reconciliation.registry_reconcile()

    assert (repeated.pages, repeated.applied, repeated.unchanged) == (3, 1, 2)
    assert (moved_on.pages, moved_on.applied, moved_on.unchanged) == (1, 0, 1)
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.version) == (Status.ENDED, 4)
    assert status_events(enrolment) == [{"status": ["active", "ended"], "registry_status": ["active", "deceased"]}]
    assert list(RegistryChange.objects.order_by("id").values_list("outcome", flat=True)) == [
        "applied", "unchanged", "unchanged", "unchanged",
    ]  # fmt: skip
    assert cursor() == moved_on.cursor != "0"


def test_a_rewound_cursor_changes_nothing(active, control):
    post_changes(
        control,
        {"ref": active[0].id, "status": "inactive", "effective_date": "2026-12-01", "reason": "3 bulan menunggak"},
        {"ref": active[1].id, "status": "ended", "effective_date": "2026-12-02"},
    )
    reconciliation.registry_reconcile()
    versions = dict(Enrolment.objects.values_list("id", "version"))
    events = AuditEvent.objects.count()
    RegistryCursor.objects.filter(name="changes").update(value="")  # e.g. restored from an old backup

    report = reconciliation.registry_reconcile()

    assert (report.applied, report.unchanged) == (0, 2)
    assert dict(Enrolment.objects.values_list("id", "version")) == versions
    assert AuditEvent.objects.count() == events


def test_inactive_suspends_the_cover_and_active_lifts_it(active, control):
    enrolment = active[2]
    post_changes(control, {"ref": enrolment.id, "status": "inactive", "effective_date": "2026-12-01"})
    reconciliation.registry_reconcile()
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.registry_status, enrolment.version) == (Status.ACTIVE, "inactive", 4)

    post_changes(control, {"ref": enrolment.id, "status": "active", "effective_date": "2027-01-05"})
    reconciliation.registry_reconcile()

    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.registry_status, enrolment.registry_status_date) == (
        Status.ACTIVE, "active", dt.date(2027, 1, 5),
    )  # fmt: skip
    assert enrolment.version == 5
    assert status_events(enrolment) == [
        {"registry_status": ["active", "inactive"]},
        {"registry_status": ["inactive", "active"]},
    ]


def test_changes_are_matched_by_participant_number_when_the_ref_is_not_ours(active):
    enrolment = active[0]
    page = ChangesPage(
        changes=(StatusChange(enrolment.registry_number, "", "ended", dt.date(2026, 12, 3), "pindah"),),
        next_cursor="41",
        has_more=False,
    )

    assert reconciliation._apply_page(page, since="", report=reconciliation.ReconcileReport()) is True

    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.status_reason) == (
        Status.ENDED,
        "registry: ended, effective 2026-12-03: pindah",
    )


def test_unknown_participants_and_malformed_changes_are_logged_and_passed(active):
    report = reconciliation.ReconcileReport()
    page = ChangesPage(
        changes=(
            StatusChange("91234567890", "someone-else", "deceased", dt.date(2026, 12, 3), ""),
            InvalidChange("unknown status", '{"status": "gone"}'),
            StatusChange(active[0].registry_number, active[1].id, "ended", dt.date(2026, 12, 3), ""),
        ),
        next_cursor="9",
        has_more=False,
    )

    reconciliation._apply_page(page, since="", report=report)

    assert (report.unmatched, report.invalid, report.applied) == (1, 1, 1)
    logs = list(RegistryChange.objects.order_by("id").values_list("outcome", "note"))
    assert logs == [
        ("unmatched", ""),
        ("invalid", "unknown status"),
        # The ref names another participant here: the number decides.
        ("applied", ""),
    ]
    assert Enrolment.objects.get(pk=active[0].pk).status == Status.ENDED
    assert Enrolment.objects.get(pk=active[1].pk).status == Status.ACTIVE
    assert cursor() == "9"


def test_a_page_whose_cursor_moved_meanwhile_is_not_applied(active):
    page = ChangesPage(
        changes=(StatusChange(active[0].registry_number, active[0].id, "ended", dt.date(2026, 12, 3), ""),),
        next_cursor="5",
        has_more=False,
    )
    RegistryCursor.objects.create(name="changes", value="5")  # another run applied it already

    applied = reconciliation._apply_page(page, since="", report=reconciliation.ReconcileReport())

    assert applied is False
    assert Enrolment.objects.get(pk=active[0].pk).status == Status.ACTIVE
    assert not RegistryChange.objects.exists()


def test_a_change_for_an_enrolment_still_on_its_way_is_not_applied(registry, control):
    (enrolment,) = make_verified(1)
    services.registry_batch_claim()  # queued, not yet sent
    page = ChangesPage(
        changes=(StatusChange("90000000001", enrolment.id, "deceased", dt.date(2026, 12, 3), ""),),
        next_cursor="1",
        has_more=False,
    )
    report = reconciliation.ReconcileReport()

    reconciliation._apply_page(page, since="", report=report)

    assert report.not_applicable == 1
    assert RegistryChange.objects.get().note == "the enrolment is queued"
    assert Enrolment.objects.get().status == Status.QUEUED


def test_a_failing_feed_leaves_the_cursor_where_it_was(active, control):
    post_changes(control, {"ref": active[0].id, "status": "ended", "effective_date": "2026-12-02"})
    stub_faults(control, changes_error_5xx=1)

    with pytest.raises(RegistryUnavailable):
        reconciliation.registry_reconcile()

    assert cursor() == ""
    assert Enrolment.objects.get(pk=active[0].pk).status == Status.ACTIVE
