"""GET /api/v1/reports/coverage: the seed's own arithmetic rebuilt, definitions, scope."""

import datetime as dt

import pytest

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, KAUR, KINAL, VILLAGE_B
from tests.factories import EnrolmentFactory, WorkerFactory
from tests.panel.conftest import copy_people
from villages.demo import REGENCY_TARGETS
from villages.models import Area, AreaTarget, Role

# Per regency: people actually covered (active); the rest of each target is verified.
ACTIVE = {"17.01": 4200, "17.02": 2767, "17.03": 11700, "17.04": 1, "17.05": 0, "17.06": 6000,
          "17.07": 5445, "17.08": 2067, "17.09": 7599, "17.71": 1206}  # fmt: skip
# active / target x 100, two decimals half up, worked out by hand from the figures above.
EXPECTED_PERCENT = {"17.01": 50.0, "17.02": 33.34, "17.03": 100.0, "17.04": 0.01, "17.05": 0.0, "17.06": 75.0,
                    "17.07": 99.0, "17.08": 33.34, "17.09": 99.99, "17.71": 33.33}  # fmt: skip


@pytest.fixture
def bengkulu_funded(db):
    """Bengkulu's 2025 call: 80,418 vulnerable workers funded at Rp 16,800 a month, spread over
    each regency's villages up to its target (the demo split), with the targets set."""
    for code, workers in REGENCY_TARGETS.items():
        AreaTarget.objects.create(area_id=code, year=2026, target_workers=workers, budget_idr=workers * 16_800 * 12)
    people = []
    for regency, target in REGENCY_TARGETS.items():
        villages = list(
            Area.objects.filter(level="village", code__startswith=regency + ".").values_list("code", flat=True)
        )
        for n in range(target):
            people.append(
                {
                    "id": f"b{regency.replace('.', '')}-{n}",
                    "village": villages[n % len(villages)],
                    "occupation": ["nelayan", "petani", "perangkat_desa"][n % 3],
                    "funding": ["apbd_provinsi", "apbd_kabupaten"][n % 2],
                    "status": "active" if n < ACTIVE[regency] else "verified",
                }
            )
    copy_people(people)


def test_province_budget_and_coverage_per_regency(api, make_user, bengkulu_funded):
    viewer = make_user(role=Role.VIEWER, areas=("17",))

    response = api(viewer).get("/api/v1/reports/coverage", {"area": "17", "year": 2026, "group_by": "regency"})

    assert response.status_code == 200
    body = response.json()
    total = body["total"]
    assert (body["area"], body["year"], body["group_by"]) == (
        {"code": "17", "name": "Bengkulu", "level": "province"},
        2026,
        "regency",
    )
    assert total["annual_contribution_idr"] == 16_212_268_800
    assert total["monthly_contribution_idr"] == 80_418 * 16_800 == 1_351_022_400
    assert (total["target_workers"], total["budget_idr"]) == (80_418, 16_212_268_800)
    assert (total["registered_workers"], total["live_enrolments"], total["active_enrolments"]) == (
        80_418,
        80_418,
        40_985,
    )
    assert total["coverage_percent"] == 50.96
    assert total["by_status"] == {"active": 40_985, "verified": 80_418 - 40_985}
    assert total["by_funding_source"] == {"apbd_kabupaten": 40_209, "apbd_provinsi": 40_209}  # every target is even
    assert sum(total["by_occupation"].values()) == 80_418
    rows = {row["code"]: row for row in body["results"]}
    assert list(rows) == sorted(REGENCY_TARGETS)
    assert {code: row["coverage_percent"] for code, row in rows.items()} == EXPECTED_PERCENT
    assert {code: row["target_workers"] for code, row in rows.items()} == REGENCY_TARGETS
    assert {code: row["active_enrolments"] for code, row in rows.items()} == ACTIVE
    assert {code: row["annual_contribution_idr"] for code, row in rows.items()} == {
        code: target * 201_600 for code, target in REGENCY_TARGETS.items()
    }
    assert rows["17.04"]["name"] == "Kabupaten Kaur"


def test_supervisor_of_one_regency_gets_404_for_another(api, supervisor):
    WorkerFactory(village_id="17.01.01.2001")
    client = api(supervisor)

    other = client.get("/api/v1/reports/coverage", {"area": "17.01", "year": 2026})
    province = client.get("/api/v1/reports/coverage", {"area": "17", "year": 2026})
    own = client.get("/api/v1/reports/coverage", {"area": KAUR, "year": 2026})

    assert (other.status_code, province.status_code, own.status_code) == (404, 404, 200)
    assert other.json()["error"]["code"] == "not_found"
    assert own.json()["group_by"] == "district"
    assert own.json()["total"]["registered_workers"] == 0


def test_definitions_live_active_year_deleted_and_flagged(api, operator):
    """One village, every case that must or must not count."""

    def enrol(status, **kwargs):
        return EnrolmentFactory(status=status, worker=WorkerFactory(village_id=GEDUNG_WANI), **kwargs)

    enrol("active", monthly_contribution=16_800, annual_contribution=201_600)
    enrol("submitted", monthly_contribution=36_800, annual_contribution=441_600)
    enrol("draft", monthly_contribution=8_400, annual_contribution=100_800)
    enrol("rejected")  # not live: no money, but in by_status
    enrol("ended")
    enrol("active", budget_year=2025)  # another year
    enrol("verified", needs_correction=True)  # flagged: not counted at all
    enrol("verified", deleted_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    WorkerFactory(village_id=GEDUNG_WANI, needs_correction=True, nik="12")
    WorkerFactory(village_id=GEDUNG_WANI, deleted_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    WorkerFactory(village_id=VILLAGE_B)  # outside the report's area
    AreaTarget.objects.create(area_id=GEDUNG_WANI, year=2026, target_workers=3, budget_idr=604_800)

    response = api(operator, language="en").get("/api/v1/reports/coverage", {"year": 2026})

    assert response.status_code == 200
    body = response.json()
    assert body["group_by"] == "village"
    assert body["results"] == [body["total"]]
    assert body["total"] == {
        "code": GEDUNG_WANI,
        "name": "Gedung Wani",
        "level": "village",
        "target_workers": 3,
        "budget_idr": 604_800,
        "registered_workers": 9,  # 8 enrolled workers + the flagged one; not the deleted one
        "workers_needing_correction": 1,
        "live_enrolments": 3,
        "active_enrolments": 1,
        "coverage_percent": 33.33,
        "monthly_contribution_idr": 16_800 + 36_800 + 8_400,
        "annual_contribution_idr": 201_600 + 441_600 + 100_800,
        "allocated_idr": 0,
        "committed_idr": 0,
        "by_status": {"active": 1, "draft": 1, "ended": 1, "rejected": 1, "submitted": 1},
        "by_occupation": {"nelayan": 9},
        "by_funding_source": {"apbd_kabupaten": 3},
    }
    assert Enrolment.objects.count() == 8


def test_targets_add_up_from_below_and_own_targets_win(api, make_user):
    viewer = make_user(role=Role.VIEWER, areas=(KAUR,))
    AreaTarget.objects.create(area_id=GEDUNG_WANI, year=2026, target_workers=100, budget_idr=1)
    AreaTarget.objects.create(area_id=VILLAGE_B, year=2026, target_workers=50, budget_idr=2)
    AreaTarget.objects.create(area_id="17.04.02", year=2026, target_workers=70, budget_idr=3)
    AreaTarget.objects.create(area_id="17.04.02.2002", year=2026, target_workers=999, budget_idr=4)  # under 17.04.02

    body = api(viewer).get("/api/v1/reports/coverage", {"area": KAUR, "year": 2026}).json()

    rows = {row["code"]: row for row in body["results"]}
    assert (rows[KINAL]["target_workers"], rows[KINAL]["budget_idr"]) == (150, 3)
    assert rows["17.04.02"]["target_workers"] == 70  # its own target, not its village's
    assert rows["17.04.03"]["target_workers"] is None
    assert rows["17.04.03"]["coverage_percent"] is None
    assert body["total"]["target_workers"] == 220
    assert len(rows) == Area.objects.filter(level="district", code__startswith="17.04.", active=True).count()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"area": GEDUNG_WANI, "group_by": "district"}, "group_by"),
        ({"area": GEDUNG_WANI, "group_by": "province"}, "group_by"),
        ({"area": GEDUNG_WANI, "year": "dua ribu"}, "year"),
    ],
)
def test_bad_queries_are_400(api, operator, query, field):
    response = api(operator).get("/api/v1/reports/coverage", query)
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == [field]


def test_roles(api, make_user):
    officer = make_user(role=Role.FIELD_OFFICER)
    several = make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI, VILLAGE_B))
    assert api(officer).get("/api/v1/reports/coverage", {"area": GEDUNG_WANI}).status_code == 403
    missing = api(several).get("/api/v1/reports/coverage")
    assert missing.status_code == 400
    assert list(missing.json()["error"]["details"]["fields"]) == ["area"]
    assert api(several).get("/api/v1/reports/coverage", {"area": KINAL}).status_code == 404
