import pytest

from tests.conftest import GEDUNG_WANI, KAUR, KINAL, OTHER_REGENCY_VILLAGE, VILLAGE_B
from villages.models import Assignment, Role, User


def new_user(**overrides):
    return {
        "username": "rina",
        "password": "Rahasia-Desa-77",
        "full_name": "Rina Marlina",
        "role": "field_officer",
        "areas": [GEDUNG_WANI],
        **overrides,
    }


def test_admin_creates_an_official_with_areas(api, admin_user):
    response = api(admin_user).post("/api/v1/users", new_user(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("username", "full_name", "role", "areas", "is_active")} == {
        "username": "rina",
        "full_name": "Rina Marlina",
        "role": "field_officer",
        "areas": [GEDUNG_WANI],
        "is_active": True,
    }
    user = User.objects.get(username="rina")
    assert user.check_password("Rahasia-Desa-77")
    assert list(user.assignments.values_list("area_id", flat=True)) == [GEDUNG_WANI]
    assert "password" not in body


def test_supervisor_creates_inside_its_scope_only(api, make_user):
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    client = api(supervisor)

    assert client.post("/api/v1/users", new_user(), format="json").status_code == 201
    outside = client.post("/api/v1/users", new_user(username="xone", areas=[OTHER_REGENCY_VILLAGE]), format="json")
    assert outside.status_code == 403
    promoted = client.post("/api/v1/users", new_user(username="xtwo", role="supervisor", areas=[KINAL]), format="json")
    assert promoted.status_code == 403
    assert not User.objects.filter(username__in=["xone", "xtwo"]).exists()


def test_supervisor_lists_only_officials_inside_its_scope(api, make_user):
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KAUR,), username="sup")
    make_user(username="inside", areas=(GEDUNG_WANI,))
    make_user(username="outside", areas=(OTHER_REGENCY_VILLAGE,))
    make_user(username="straddles", role=Role.VIEWER, areas=(GEDUNG_WANI, OTHER_REGENCY_VILLAGE))

    listed = [u["username"] for u in api(supervisor).get("/api/v1/users").json()["results"]]

    assert listed == ["inside", "sup"]
    straddler = User.objects.get(username="straddles")
    assert api(supervisor).get(f"/api/v1/users/{straddler.pk}").status_code == 404


@pytest.mark.parametrize(
    ("role", "areas", "field"),
    [
        ("field_officer", [KINAL], "areas"),  # officers work in villages
        ("supervisor", [GEDUNG_WANI], "areas"),  # supervisors oversee a regency or district
        ("field_officer", [], "areas"),
        ("field_officer", ["99.99"], "areas"),
        ("mayor", [GEDUNG_WANI], "role"),
    ],
)
def test_invalid_assignments_are_refused(api, admin_user, role, areas, field):
    response = api(admin_user).post("/api/v1/users", new_user(role=role, areas=areas), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == [field]
    assert not User.objects.filter(username="rina").exists()


def test_weak_password_and_taken_username_are_refused(api, admin_user, make_user):
    make_user(username="budi")
    weak = api(admin_user).post("/api/v1/users", new_user(password="12345678"), format="json")
    taken = api(admin_user).post("/api/v1/users", new_user(username="BUDI"), format="json")
    assert weak.status_code == 400
    assert list(weak.json()["error"]["details"]["fields"]) == ["password"]
    assert taken.status_code == 400
    assert list(taken.json()["error"]["details"]["fields"]) == ["username"]


def test_moving_an_official_to_another_village_changes_assignments(api, admin_user, make_user):
    officer = make_user(areas=(GEDUNG_WANI,))
    response = api(admin_user).patch(f"/api/v1/users/{officer.pk}", {"areas": [VILLAGE_B]}, format="json")
    assert response.status_code == 200
    assert response.json()["areas"] == [VILLAGE_B]
    assert list(Assignment.objects.filter(user=officer).values_list("area_id", flat=True)) == [VILLAGE_B]


def test_field_officer_may_not_manage_users(api, make_user):
    response = api(make_user()).get("/api/v1/users")
    assert response.status_code == 403
