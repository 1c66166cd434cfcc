"""Every status move, allowed and forbidden, for every role: the matrix is written out here
on its own (not derived from the code's table) so that a change to the workflow shows up."""

import pytest

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, KAUR
from tests.factories import EnrolmentFactory
from villages.models import AuditEvent

STATUSES = ["draft", "submitted", "verified", "queued", "active", "rejected", "ended"]
ACTIONS = {"submit": "submitted", "verify": "verified", "reject": "rejected", "end": "ended"}

# (action, from status) → roles that may do it. Admins may do every human move.
ALLOWED = {
    ("submit", "draft"): {"field_officer", "village_operator"},
    ("submit", "rejected"): {"field_officer", "village_operator"},
    ("verify", "submitted"): {"village_operator"},
    ("reject", "submitted"): {"village_operator"},
    ("reject", "verified"): {"village_operator"},
    ("end", "verified"): {"supervisor"},
    ("end", "active"): {"supervisor"},
}
# Which roles may do an action from some status at all (otherwise 403 whatever the status).
MAY_EVER = {
    "submit": {"field_officer", "village_operator", "admin"},
    "verify": {"village_operator", "admin"},
    "reject": {"village_operator", "admin"},
    "end": {"supervisor", "admin"},
}
ROLES = ["field_officer", "village_operator", "supervisor", "viewer", "admin"]


def expected(role, action, source):
    if role == "viewer":
        return 403, source
    if role not in MAY_EVER[action]:
        return 403, source
    target = ACTIONS[action]
    if source == target:
        return 200, source  # already done: a replay
    if role == "admin" and (action, source) in ALLOWED:
        return 200, target
    if role in ALLOWED.get((action, source), set()):
        return 200, target
    return 409, source


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", ROLES)
def test_status_moves(api, make_user, role, action, source):
    areas = {"supervisor": (KAUR,), "viewer": ("17",), "admin": ()}.get(role, (GEDUNG_WANI,))
    user = make_user(role=role, areas=areas)
    enrolment = EnrolmentFactory(status=source)
    status_code, final = expected(role, action, source)

    response = api(user).post(
        f"/api/v1/enrolments/{enrolment.id}/{action}", {"reason": "meninggal dunia"}, format="json"
    )

    assert response.status_code == status_code, response.json()
    enrolment.refresh_from_db()
    assert enrolment.status == final
    moved = final != source
    assert enrolment.version == (2 if moved else 1)
    audit = AuditEvent.objects.filter(object_id=enrolment.id, action="status")
    assert audit.count() == (1 if moved else 0)
    if moved:
        assert audit.get().changes == {"status": [source, final]}
        assert response.json()["status"] == final
    if status_code == 409:
        assert response.json()["error"]["code"] == "invalid_transition"
        assert response.json()["error"]["details"] == {"status": source, "action": action}


@pytest.mark.parametrize("action", ["reject", "end"])
def test_reject_and_end_need_a_reason(api, make_user, action):
    role, source = ("village_operator", "submitted") if action == "reject" else ("supervisor", "active")
    user = make_user(role=role, areas=(KAUR,) if role == "supervisor" else (GEDUNG_WANI,))
    enrolment = EnrolmentFactory(status=source)
    response = api(user).post(f"/api/v1/enrolments/{enrolment.id}/{action}", {"reason": "  "}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["reason"]
    assert Enrolment.objects.get(id=enrolment.id).status == source


def test_rejection_reason_is_stored_and_resubmission_clears_it(api, make_user):
    operator = make_user(role="village_operator")
    enrolment = EnrolmentFactory(status="submitted")
    api(operator).post(f"/api/v1/enrolments/{enrolment.id}/reject", {"reason": "NIK tidak terbaca"}, format="json")
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.status_reason) == ("rejected", "NIK tidak terbaca")
    api(operator).post(f"/api/v1/enrolments/{enrolment.id}/submit", {}, format="json")
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.status_reason) == ("submitted", "")


def test_submission_needs_consent_on_file(api, make_user):
    officer = make_user()
    enrolment = EnrolmentFactory(status="draft", worker__consent_given_at=None)
    response = api(officer).post(f"/api/v1/enrolments/{enrolment.id}/submit", {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "consent_missing"
    assert Enrolment.objects.get(id=enrolment.id).status == "draft"


def test_action_on_a_record_outside_scope_is_404(api, make_user):
    operator = make_user(role="village_operator", areas=("17.04.01.2002",))
    enrolment = EnrolmentFactory(status="submitted")
    assert api(operator).post(f"/api/v1/enrolments/{enrolment.id}/verify", {}, format="json").status_code == 404
    assert Enrolment.objects.get(id=enrolment.id).status == "submitted"


def test_stale_if_match_on_an_action_is_412(api, make_user):
    operator = make_user(role="village_operator")
    enrolment = EnrolmentFactory(status="submitted", version=3)
    response = api(operator).post(f"/api/v1/enrolments/{enrolment.id}/verify", {}, format="json", HTTP_IF_MATCH="2")
    assert response.status_code == 412
    assert Enrolment.objects.get(id=enrolment.id).status == "submitted"
