"""GET /api/v1/reports/coverage without an area, as an admin: the whole country, by province."""

import pytest

from enrolment.models import Enrolment
from enrolment.reports import coverage
from enrolment.reports.models import CoverageEnrolmentProvinceCount, CoverageWorkerProvinceCount
from enrolment.reports.services import coverage_compact
from tests.conftest import GEDUNG_WANI, KAUR, VILLAGE_B
from tests.panel.conftest import copy_people
from villages.models import Area, AreaTarget, Role
from workers.models import Worker

LAMPUNG_VILLAGE = "18.01.01.2001"


@pytest.fixture
def two_provinces(db):
    """Bengkulu (loaded) and a one-village Lampung; people in both; targets on Kaur (a regency of
    Bengkulu, which has no target of its own) and on Lampung itself."""
    parent = None
    for code, name, level, kind in [
        ("18", "Lampung", "province", "provinsi"),
        ("18.01", "Lampung Barat", "regency", "kabupaten"),
        ("18.01.01", "Balik Bukit", "district", "kecamatan"),
        (LAMPUNG_VILLAGE, "Way Mengaku", "village", "kelurahan"),
    ]:
        parent = Area.objects.create(code=code, name=name, level=level, kind=kind, parent=parent, source_decree="t")
    AreaTarget.objects.create(area_id=KAUR, year=2026, target_workers=10, budget_idr=2_016_000)
    AreaTarget.objects.create(area_id="18", year=2026, target_workers=4, budget_idr=806_400)
    copy_people(
        [
            {"id": "b1", "village": GEDUNG_WANI, "status": "active"},
            {"id": "b2", "village": GEDUNG_WANI, "status": "active", "occupation": "petani"},
            {"id": "b3", "village": GEDUNG_WANI, "status": "verified"},
            {"id": "b4", "village": VILLAGE_B, "status": "submitted", "funding": "mandiri", "monthly": 8_400,
             "annual": 100_800},
            {"id": "l1", "village": LAMPUNG_VILLAGE, "status": "active", "funding": "apbd_kabupaten"},
            {"id": "l2", "village": LAMPUNG_VILLAGE, "status": "rejected"},
        ]
    )  # fmt: skip


def test_the_country_by_province(api, admin_user, two_provinces):
    response = api(admin_user).get("/api/v1/reports/coverage", {"year": 2026})

    assert response.status_code == 200
    body = response.json()
    assert (body["area"], body["group_by"]) == ({"code": "", "name": "Indonesia", "level": "country"}, "province")
    bengkulu, lampung = body["results"]
    assert {k: bengkulu[k] for k in ("code", "name", "level")} == {
        "code": "17",
        "name": "Bengkulu",
        "level": "province",
    }
    assert (bengkulu["target_workers"], bengkulu["budget_idr"], bengkulu["coverage_percent"]) == (10, 2_016_000, 20.0)
    assert (bengkulu["registered_workers"], bengkulu["live_enrolments"], bengkulu["active_enrolments"]) == (4, 4, 2)
    assert (bengkulu["monthly_contribution_idr"], bengkulu["annual_contribution_idr"]) == (58_800, 705_600)
    assert bengkulu["by_status"] == {"active": 2, "submitted": 1, "verified": 1}
    assert bengkulu["by_funding_source"] == {"apbd_provinsi": 3, "mandiri": 1}
    assert bengkulu["by_occupation"] == {"nelayan": 3, "petani": 1}
    assert lampung["code"] == "18"
    assert (lampung["target_workers"], lampung["coverage_percent"]) == (4, 25.0)
    assert (lampung["registered_workers"], lampung["live_enrolments"], lampung["active_enrolments"]) == (2, 1, 1)
    assert lampung["by_status"] == {"active": 1, "rejected": 1}
    assert lampung["by_funding_source"] == {"apbd_kabupaten": 1}
    total = body["total"]
    assert (total["code"], total["name"], total["level"]) == ("", "Indonesia", "country")
    # The country has no target of its own: the nearest below it, Kaur's 10 and Lampung's 4.
    assert (total["target_workers"], total["budget_idr"]) == (14, 2_822_400)
    assert (total["registered_workers"], total["live_enrolments"], total["active_enrolments"]) == (6, 5, 3)
    assert total["coverage_percent"] == 21.43  # 3 / 14 x 100, half up
    assert (total["monthly_contribution_idr"], total["annual_contribution_idr"]) == (75_600, 907_200)


def test_the_province_counts_and_the_tables_agree(admin_user, two_provinces):
    def report(source):
        return coverage.coverage_report(user=admin_user, area=None, year=2026, group_by=None, source=source)

    provinces, villages, tables = report("provinces"), report("counts"), report("tables")

    assert provinces["total"] == villages["total"] == tables["total"]
    assert provinces["results"] == villages["results"] == tables["results"]


def test_the_province_counts_follow_moves_between_provinces(two_provinces):
    coverage_compact()
    workers = {
        (province, occupation): n
        for province, occupation, n in CoverageWorkerProvinceCount.objects.values_list("province", "occupation", "n")
    }
    assert workers == {("17", "nelayan"): 3, ("17", "petani"): 1, ("18", "nelayan"): 2}

    # Within Bengkulu: the village counts change, the province's do not (nothing appended).
    Worker.objects.filter(id="b1").update(village_id=VILLAGE_B)
    Enrolment.objects.filter(id="b1-e").update(village_id=VILLAGE_B)
    assert CoverageWorkerProvinceCount.objects.count() == 3
    assert CoverageEnrolmentProvinceCount.objects.count() == 5
    # Bengkulu to Lampung, the worker and the enrolment each in one statement.
    Worker.objects.filter(id="b2").update(village_id=LAMPUNG_VILLAGE)
    Enrolment.objects.filter(id="b2-e").update(village_id=LAMPUNG_VILLAGE)

    moved = list(CoverageWorkerProvinceCount.objects.order_by("id").values_list("province", "occupation", "n")[3:])
    assert sorted(moved) == [("17", "petani", -1), ("18", "petani", 1)]
    enrolments = list(
        CoverageEnrolmentProvinceCount.objects.order_by("id").values_list("province", "status", "n", "annual")[5:]
    )
    assert sorted(enrolments) == [("17", "active", -1, -201_600), ("18", "active", 1, 201_600)]

    coverage_compact()

    assert set(CoverageWorkerProvinceCount.objects.values_list("province", "occupation", "n")) == {
        ("17", "nelayan", 3),
        ("18", "nelayan", 2),
        ("18", "petani", 1),
    }
    active = set(
        CoverageEnrolmentProvinceCount.objects.filter(status="active").values_list("province", "funding_source", "n")
    )
    assert active == {("17", "apbd_provinsi", 1), ("18", "apbd_kabupaten", 1), ("18", "apbd_provinsi", 1)}


def test_the_province_counts_only_answer_the_country_by_province(admin_user, two_provinces):
    with pytest.raises(ValueError, match="country report by province"):
        coverage.coverage_report(user=admin_user, area="17", year=2026, group_by=None, source="provinces")


def test_the_country_by_regency(api, admin_user, two_provinces):
    body = api(admin_user).get("/api/v1/reports/coverage", {"year": 2026, "group_by": "regency"}).json()

    assert len(body["results"]) == 11  # Bengkulu's ten and Lampung Barat
    with_people = {r["code"]: r["registered_workers"] for r in body["results"] if r["registered_workers"]}
    assert with_people == {KAUR: 4, "18.01": 2}
    assert body["total"]["registered_workers"] == 6
    assert body["total"]["target_workers"] == 14


def test_by_province_is_for_the_country_only(api, make_user, admin_user, two_provinces):
    viewer = make_user(role=Role.VIEWER, areas=("17",))

    refused = api(viewer).get("/api/v1/reports/coverage", {"area": "17", "group_by": "province"})
    also_refused = api(admin_user).get("/api/v1/reports/coverage", {"area": "17", "group_by": "province"})

    assert refused.status_code == also_refused.status_code == 400
    assert list(refused.json()["error"]["details"]["fields"]) == ["group_by"]


def test_a_viewer_without_an_area_still_chooses_one(api, make_user, two_provinces):
    several = make_user(role=Role.VIEWER, areas=("17", "18"))

    response = api(several).get("/api/v1/reports/coverage")

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["area"]
