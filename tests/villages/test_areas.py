import csv
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import GEDUNG_WANI, KAUR, KINAL, OTHER_REGENCY_VILLAGE, VILLAGE_B
from villages.area_loader import areas_load
from villages.models import Area, AreaTarget, Role

DATA = Path(__file__).resolve().parent.parent / "data"


# --- load_areas --------------------------------------------------------------------------------


def test_bengkulu_matches_the_decree_counts(db):
    with open(DATA / "bengkulu_regencies.csv") as f:
        expected = list(csv.DictReader(f))
    regencies = Area.objects.filter(parent_id="17")
    assert regencies.count() == 10
    for row in expected:
        regency = Area.objects.get(code=row["kode"])
        assert regency.name == row["nama"]
        assert regency.kind == row["jenis"]
        assert Area.objects.filter(parent=regency, level="district").count() == int(row["n_kecamatan"])
        villages = Area.objects.filter(code__startswith=row["kode"] + ".", level="village")
        assert villages.filter(kind="kelurahan").count() == int(row["n_kelurahan"])
        assert villages.filter(kind="desa").count() == int(row["n_desa"])
    assert Area.objects.filter(code__startswith="17.", level="district").count() == 129
    assert Area.objects.filter(code__startswith="17.", level="village").count() == 1513


def test_loaded_rows_carry_kind_postal_code_parent_and_decree(db):
    village = Area.objects.get(code=GEDUNG_WANI)
    assert (village.name, village.level, village.kind, village.parent_id) == ("Gedung Wani", "village", "desa", KINAL)
    assert village.postal_code == "38962"
    assert village.source_decree == "Kepmendagri 300.2.2-2138/2025"
    assert village.active is True
    assert Area.objects.get(code="17").level == "province"
    assert Area.objects.get(code="17.71").kind == "kota"


def test_second_load_changes_nothing(db):
    before = dict(Area.objects.filter(code__startswith="17").values_list("code", "updated_at"))
    report = areas_load(province="17")
    assert (report.created, report.updated, report.deactivated, report.unchanged) == (0, 0, 0, 1 + 10 + 129 + 1513)
    assert dict(Area.objects.filter(code__startswith="17").values_list("code", "updated_at")) == before


def test_vanished_code_is_deactivated_not_deleted_and_comes_back(db):
    Area.objects.create(
        code="17.04.01.2999", name="Desa Lama", level="village", kind="desa", parent_id=KINAL, source_decree="old"
    )
    Area.objects.filter(code=GEDUNG_WANI).update(active=False, name="Nama Salah")

    report = areas_load(province="17")

    assert (report.created, report.updated, report.deactivated) == (0, 1, 1)
    assert Area.objects.filter(code="17.04.01.2999", active=False).exists()
    restored = Area.objects.get(code=GEDUNG_WANI)
    assert (restored.active, restored.name) == (True, "Gedung Wani")


def test_province_load_leaves_other_provinces_alone(db):
    Area.objects.create(code="11", name="Aceh (test)", level="province", kind="provinsi", source_decree="x")
    areas_load(province="17")
    assert Area.objects.get(code="11").active is True


def test_unknown_province_is_a_clear_command_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown province code 99"):
        call_command("load_areas", province="99")


# --- GET /areas and scoping ---------------------------------------------------------------------


def test_village_official_gets_404_for_another_village(api, make_user):
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,))
    AreaTarget.objects.create(area_id=VILLAGE_B, year=2026, target_workers=50, budget_idr=10_080_000)
    client = api(officer)

    assert client.get(f"/api/v1/areas/{GEDUNG_WANI}").status_code == 200
    for path in (
        f"/api/v1/areas/{VILLAGE_B}",
        f"/api/v1/areas/{VILLAGE_B}/targets",
        f"/api/v1/areas/{VILLAGE_B}/targets/2026",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    # Its own district (the parent) is outside an assignment to one village too.
    assert client.get(f"/api/v1/areas/{KINAL}").status_code == 404


def test_district_supervisor_sees_every_village_of_its_district_and_none_outside(api, make_user):
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KINAL,))
    client = api(supervisor)
    expected = set(Area.objects.filter(parent_id=KINAL).values_list("code", flat=True))
    assert len(expected) > 5

    seen: set[str] = set()
    url = "/api/v1/areas?level=village&page_size=7"
    while url:
        body = client.get(url).json()
        seen.update(a["code"] for a in body["results"])
        url = body["next"]
    assert seen == expected

    everything = client.get("/api/v1/areas?page_size=500").json()
    assert {a["code"] for a in everything["results"]} == expected | {KINAL}
    assert client.get(f"/api/v1/areas/{OTHER_REGENCY_VILLAGE}").status_code == 404
    assert client.get(f"/api/v1/areas/{KAUR}").status_code == 404
    assert client.get("/api/v1/areas/17.04.02.2001").status_code == 404


def test_area_detail_shape(api, make_user):
    client = api(make_user(role=Role.VIEWER, areas=("17",)))
    assert client.get(f"/api/v1/areas/{GEDUNG_WANI}").json() == {
        "code": GEDUNG_WANI,
        "name": "Gedung Wani",
        "level": "village",
        "kind": "desa",
        "parent": KINAL,
        "postal_code": "38962",
        "active": True,
        "source_decree": "Kepmendagri 300.2.2-2138/2025",
    }


def test_area_filters(api, make_user):
    client = api(make_user(role=Role.VIEWER, areas=("17",)))
    regencies = client.get("/api/v1/areas?parent=17").json()["results"]
    assert [a["code"] for a in regencies] == sorted(a["code"] for a in regencies)
    assert len(regencies) == 10
    found = client.get("/api/v1/areas?q=gedung%20wani").json()["results"]
    assert [a["code"] for a in found] == [GEDUNG_WANI]
    bad = client.get("/api/v1/areas?level=planet")
    assert bad.status_code == 400
    assert list(bad.json()["error"]["details"]["fields"]) == ["level"]


def test_page_size_is_capped_at_500(api, admin_user):
    body = api(admin_user).get("/api/v1/areas?page_size=5000").json()
    assert len(body["results"]) == 500
    assert body["next"] is not None


# --- targets -------------------------------------------------------------------------------------


def test_supervisor_sets_a_target_idempotently(api, make_user):
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    client = api(supervisor)
    body = {"target_workers": 10400, "budget_idr": 10400 * 16800 * 12}

    first = client.put(f"/api/v1/areas/{KAUR}/targets/2026", body, format="json")
    again = client.put(f"/api/v1/areas/{KAUR}/targets/2026", body, format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["budget_idr"] == 2_096_640_000
    target = AreaTarget.objects.get(area_id=KAUR, year=2026)
    assert (target.target_workers, target.budget_idr, target.updated_by_id) == (10400, 2_096_640_000, supervisor.pk)
    assert AreaTarget.objects.count() == 1
    listed = client.get(f"/api/v1/areas/{KAUR}/targets").json()["results"]
    assert [(t["year"], t["target_workers"]) for t in listed] == [(2026, 10400)]


def test_target_refusals_leave_nothing(api, make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,))
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    body = {"target_workers": 1, "budget_idr": 1}

    assert api(operator).put(f"/api/v1/areas/{GEDUNG_WANI}/targets/2026", body, format="json").status_code == 403
    assert api(supervisor).put("/api/v1/areas/17.01/targets/2026", body, format="json").status_code == 404
    negative = api(supervisor).put(
        f"/api/v1/areas/{KAUR}/targets/2026", {"target_workers": -1, "budget_idr": 1}, format="json"
    )
    assert negative.status_code == 400
    assert list(negative.json()["error"]["details"]["fields"]) == ["target_workers"]
    assert api(supervisor).put(f"/api/v1/areas/{KAUR}/targets/1999", body, format="json").status_code == 400
    assert AreaTarget.objects.count() == 0


def test_parent_with_a_level_finds_descendants_at_that_level(api, make_user):
    """API.md's own example: the villages of Kaur (17.04) named like "wani"."""
    client = api(make_user(role=Role.VIEWER, areas=("17",)))
    found = client.get("/api/v1/areas?parent=17.04&level=village&q=wani").json()["results"]
    assert GEDUNG_WANI in [a["code"] for a in found]
    assert all(a["code"].startswith("17.04.") and a["level"] == "village" for a in found)
    villages = client.get("/api/v1/areas?parent=17.04&level=village&page_size=500").json()["results"]
    assert {a["code"] for a in villages} == set(
        Area.objects.filter(code__startswith="17.04.", level="village").values_list("code", flat=True)
    )
    # Without a level, still the direct children only.
    districts = client.get("/api/v1/areas?parent=17.04&page_size=500").json()["results"]
    assert {a["level"] for a in districts} == {"district"}
