"""An enrolment that follows its worker to another village is a change like any other: clients
that sync by `version`, If-Match or `updated_since` must see it, and the log must show it."""

import datetime as dt

from django.utils import timezone

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, VILLAGE_B
from tests.factories import EnrolmentFactory
from villages.models import AuditEvent, Role
from workers.services import worker_as_input


def test_an_enrolment_following_its_worker_gets_a_new_version(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI, VILLAGE_B))
    long_ago = timezone.now() - dt.timedelta(days=30)
    live = EnrolmentFactory(status="submitted", version=2)
    ended = EnrolmentFactory(worker=live.worker, status="ended")
    Enrolment.objects.filter(id__in=[live.id, ended.id]).update(updated_at=long_ago)
    client = api(operator)
    since = timezone.now()

    response = client.patch(f"/api/v1/workers/{live.worker_id}", {"village": VILLAGE_B}, format="json")

    assert response.status_code == 200, response.json()
    moved = Enrolment.objects.get(id=live.id)
    assert (moved.village_id, moved.version, moved.updated_by_id) == (VILLAGE_B, 3, operator.pk)
    assert moved.updated_at >= since
    # An ended enrolment stays where it was: it is history, not a live participation.
    assert Enrolment.objects.filter(id=ended.id).values_list("village_id", "version", "updated_at").get() == (
        GEDUNG_WANI,
        1,
        long_ago,
    )
    events = AuditEvent.objects.filter(object_type="enrolment")
    assert list(events.values_list("action", "object_id", "actor_id", "area_code", "changes", "context")) == [
        (
            "update",
            live.id,
            operator.pk,
            VILLAGE_B,
            {"village_id": [GEDUNG_WANI, VILLAGE_B]},
            {"version": 3, "followed_worker": live.worker_id},
        )
    ]
    # What clients rely on: the list of changes since their last look, and If-Match.
    listed = client.get("/api/v1/enrolments", {"updated_since": since.isoformat()}).json()["results"]
    assert [(e["id"], e["village"], e["version"]) for e in listed] == [(live.id, VILLAGE_B, 3)]
    stale = client.patch(
        f"/api/v1/enrolments/{live.id}", {"payment_period_months": 3}, format="json", HTTP_IF_MATCH="2"
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["details"] == {"current_version": 3}


def test_a_worker_update_that_keeps_the_village_leaves_the_enrolment_alone(api, make_user):
    officer = make_user()
    live = EnrolmentFactory(status="draft")

    response = api(officer).patch(f"/api/v1/workers/{live.worker_id}", {"phone": "081299998888"}, format="json")

    assert response.status_code == 200, response.json()
    assert Enrolment.objects.get(id=live.id).version == 1
    assert list(AuditEvent.objects.values_list("object_type", "action")) == [("worker", "update")]


def test_a_bulk_move_of_many_workers_moves_each_live_enrolment_once(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI, VILLAGE_B))
    enrolments = [EnrolmentFactory(status=status) for status in ("draft", "verified", "active")]
    client = api(operator)
    records = [{**worker_as_input(e.worker), "village": VILLAGE_B} for e in enrolments]

    body = client.post("/api/v1/workers/bulk", {"records": records}, format="json").json()

    assert [r["result"] for r in body["results"]] == ["updated"] * 3
    assert sorted(Enrolment.objects.values_list("id", "village_id", "version")) == sorted(
        (e.id, VILLAGE_B, 2) for e in enrolments
    )
    events = AuditEvent.objects.filter(object_type="enrolment", action="update")
    assert sorted(events.values_list("object_id", "changes")) == sorted(
        (e.id, {"village_id": [GEDUNG_WANI, VILLAGE_B]}) for e in enrolments
    )
