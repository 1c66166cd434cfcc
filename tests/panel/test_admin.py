"""The Django admin as the operations console: role permissions, area scoping, verification."""

import pytest
from django.test import Client

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, KAUR
from tests.factories import EnrolmentFactory, WorkerFactory
from villages.audit import Actor, audit_event
from villages.models import AreaTarget, AuditEvent, Role


@pytest.fixture
def console(make_user):
    def login(role, areas=()):
        user = make_user(role=role, areas=areas, is_staff=True)
        client = Client()
        client.force_login(user)
        return client, user

    return login


def test_supervisor_sees_only_its_areas(console):
    client, supervisor = console(Role.SUPERVISOR, (KAUR,))
    near = WorkerFactory(full_name="Warga Kaur", village_id=GEDUNG_WANI)
    far = WorkerFactory(full_name="Warga Jauh", village_id="17.01.01.2001")
    audit_event(Actor(user=None), "view", "worker", near.id, area_code=GEDUNG_WANI)
    audit_event(Actor(user=None), "view", "worker", far.id, area_code="17.01.01.2001")

    workers = client.get("/admin/workers/worker/")
    audit = client.get("/admin/villages/auditevent/")
    hidden = client.get(f"/admin/workers/worker/{far.id}/change/")
    shown = client.get(f"/admin/workers/worker/{near.id}/change/")

    assert workers.status_code == 200
    assert "Warga Kaur" in workers.content.decode()
    assert "Warga Jauh" not in workers.content.decode()
    assert near.nik not in shown.content.decode()  # masked
    assert "1704********" in shown.content.decode()
    assert hidden.status_code == 302  # the admin's "does not exist": nothing about it is shown
    assert near.id in audit.content.decode()
    assert far.id not in audit.content.decode()
    assert AuditEvent.objects.filter(action="view", object_id=near.id, actor=supervisor).count() == 1
    assert client.get("/admin/workers/occupation/").status_code == 403  # reference data: admins only
    assert client.get("/admin/enrolment/contributionrule/").status_code == 403


def test_supervisor_is_read_only_except_targets_in_its_areas(console):
    client, supervisor = console(Role.SUPERVISOR, (KAUR,))
    EnrolmentFactory(status="submitted")

    listing = client.get("/admin/enrolment/enrolment/")
    own = client.post(
        "/admin/villages/areatarget/add/", {"area": KAUR, "year": 2027, "target_workers": 10, "budget_idr": 2_016_000}
    )
    other = client.post(
        "/admin/villages/areatarget/add/", {"area": "17.01", "year": 2027, "target_workers": 10, "budget_idr": 1}
    )

    assert listing.status_code == 200
    assert 'value="verify"' not in listing.content.decode()  # the workflow does not let supervisors verify
    assert own.status_code == 302
    assert other.status_code == 200  # the form refuses the area
    assert list(AreaTarget.objects.values_list("area_id", "year", "updated_by")) == [(KAUR, 2027, supervisor.pk)]
    assert Enrolment.objects.get().status == "submitted"


def test_admin_verifies_and_rejects_through_the_workflow(console):
    client, admin = console(Role.ADMIN)
    first, second, draft = (EnrolmentFactory(status=s) for s in ("submitted", "submitted", "draft"))

    listing = client.get("/admin/enrolment/enrolment/")
    verified = client.post(
        "/admin/enrolment/enrolment/?status=all",
        {"action": "verify", "_selected_action": [first.id, draft.id]},
        follow=True,
    )
    form = client.post("/admin/enrolment/enrolment/", {"action": "reject", "_selected_action": [second.id]})
    rejected = client.post(
        "/admin/enrolment/enrolment/",
        {"action": "reject", "_selected_action": [second.id], "apply": "1", "reason": "KTP buram"},
        follow=True,
    )

    body = listing.content.decode()
    assert first.id in body
    assert second.id in body
    assert draft.id not in body  # the list opens on submitted
    assert dict(Enrolment.objects.values_list("id", "status")) == {
        first.id: "verified",
        second.id: "rejected",
        draft.id: "draft",
    }
    assert Enrolment.objects.get(id=second.id).status_reason == "KTP buram"
    assert "reason" in form.content.decode()
    assert form.status_code == 200
    messages = [str(m) for m in verified.context["messages"]]
    assert any(draft.id in m for m in messages)  # the refusal is reported, not hidden
    assert rejected.status_code == 200
    events = AuditEvent.objects.filter(action="status").order_by("object_id")
    assert [(e.object_id, e.changes["status"], e.actor_username) for e in events] == sorted(
        [(first.id, ["submitted", "verified"], admin.username), (second.id, ["submitted", "rejected"], admin.username)]
    )


def test_other_roles_cannot_open_the_console(console):
    for role in (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.VIEWER):
        client, _user = console(role, (GEDUNG_WANI,))
        assert client.get("/admin/workers/worker/").status_code == 403
