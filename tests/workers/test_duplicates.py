"""Likely duplicates: normalisation, every perturbation kind of the corpus, hard non-duplicates,
pairs kept in step with edits (workers/duplicates)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rapidfuzz import fuzz

from tests.conftest import GEDUNG_WANI, KAUR, VILLAGE_B
from tests.dq_corpus import DATE_PERTURBATIONS, NAME_PERTURBATIONS, NIK_PERTURBATIONS, p_moved
from tests.factories import make_nik, worker_payload
from villages.audit import Actor
from villages.models import Role
from workers.duplicates.names import name_key, patronym_key
from workers.duplicates.scoring import Person, name_similarity_floor, score_pair
from workers.models import MATCH_KEY_FIELDS, DuplicatePair, DuplicateStatus, MatchName, Worker
from workers.services import SaveMode, worker_refs, workers_save
from workers.validation import clean_worker

OTHER_DISTRICT_VILLAGE = "17.04.02.2001"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hj. Siti Aminah", "Siti Aminah"),
        ("Drs. H. Achmad Fattah, S.Pd.", "Ahmad Fatah"),
        ("Siti Aminah binti Yusuf", "Siti Aminah"),
        ("Muhammad Yusuf", "M. Jusuf"),
        ("Mochammad Joesoef", "Muhamad Yusuf"),
        ("Djoko Tjahjono", "Joko Cahyono"),
        ("St. Rohani", "Siti Rohani"),
        ("Ma'ruf", "Maruf"),
        ("Nurhasanah", "Nurhasana"),
        ("Abdoel Rachman", "Abdul Rahman"),
    ],
)
def test_names_normalise_to_one_key(a, b):
    assert name_key(a) == name_key(b)


def test_the_patronymic_is_kept_apart():
    assert (name_key("Ahmad bin Yusuf"), patronym_key("Ahmad bin Yusuf")) == ("ahmad", "yusuf")


@pytest.fixture
def operator(make_user):
    return make_user(role=Role.SUPERVISOR, areas=(KAUR,))


def save(user, *bodies: dict[str, Any], keep_invalid: bool = True) -> list[Any]:
    """Saves raw bodies the way a sync push does (invalid records kept, flagged)."""
    refs = worker_refs(user=user, records=list(bodies))
    cleaned = [clean_worker(b, refs=refs) for b in bodies]
    return workers_save(actor=Actor(user=user), records=cleaned, mode=SaveMode.UPSERT, keep_invalid=keep_invalid)


def base_person(**overrides: Any) -> dict[str, Any]:
    values = {"full_name": "Yusuf Hidayat", "birth_date": "1985-03-07", "kk_number": "1704011234567890"}
    return worker_payload(**{**values, **overrides})


EXPECTED_REASON = {
    "title": "similar_name",
    "patronym": "similar_name",
    "muhammad": "similar_name",
    "siti": "similar_name",
    "old_spelling": "similar_name",
    "doubled_letter": "similar_name",
    "typo": "similar_name",
    "date_swap": "birth_date_day_month_swapped",
    "date_typo": "birth_date_one_digit_apart",
    "nik_typo": "nik_one_digit_apart",
    "no_nik": "same_kk",
    "moved": "same_nik",
}
NAMES_FOR = {"muhammad": "Muhammad Yusuf", "siti": "Siti Rohani", "doubled_letter": "Yusuf Hidayat"}


@pytest.mark.parametrize("kind", sorted(EXPECTED_REASON))
def test_every_perturbation_kind_is_paired(operator, kind):
    """A person registered again with one perturbation of each kind (tests/dq_corpus.py) is one
    stored pair, with that kind's reason, whichever village; the second record is warned."""
    sex = "F" if kind == "siti" else "M"
    first = base_person(
        full_name=NAMES_FOR.get(kind, "Yusuf Hidayat"), sex=sex, nik=make_nik(sex=sex, born=_date("1985-03-07"))
    )
    (stored,) = save(operator, first)
    second = {**first, "id": "again", "address": dict(first["address"])}
    perturb = {**NAME_PERTURBATIONS, **DATE_PERTURBATIONS, **NIK_PERTURBATIONS}.get(kind)
    rng = random.Random(3)
    changed = p_moved(rng, second, [GEDUNG_WANI, VILLAGE_B]) if kind == "moved" else perturb(rng, second)
    assert changed
    assert second != {**first, "id": "again"}

    (outcome,) = save(operator, second)

    pair = DuplicatePair.objects.get()
    assert (pair.a_id, pair.b_id, pair.status) == ("again", first["id"], DuplicateStatus.OPEN)
    assert EXPECTED_REASON[kind] in pair.reasons
    assert pair.score >= 0.7
    assert "possible_duplicate" in Worker.objects.get(id="again").warnings
    assert outcome.result == "created"
    assert stored.result == "created"


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_twins_are_not_a_pair(operator):
    """Twins share everything but their names (and NIK serial): no pair."""
    born = "1999-05-04"
    shared = {
        "kk_number": "1704011234567890",
        "phone": "081298765432",
        "mother_maiden_name": "Rohani",
        "birth_date": born,
    }
    hasan = worker_payload(full_name="Hasan", nik=make_nik(_date(born), serial=11), **shared)
    husin = worker_payload(full_name="Husin", nik=make_nik(_date(born), serial=12), **shared)
    save(operator, hasan, husin)
    assert not DuplicatePair.objects.exists()
    assert Worker.objects.filter(warnings__contains=["possible_duplicate"]).count() == 0


def test_namesakes_with_their_own_niks_are_not_a_pair(operator):
    """The commonest names, born the same day in another district, each with a valid NIK."""
    a = worker_payload(full_name="Siti Aminah", sex="F", birth_date="1982-06-08", mother_maiden_name="Hasanah")
    b = worker_payload(
        full_name="Siti Aminah",
        sex="F",
        birth_date="1982-06-08",
        village=OTHER_DISTRICT_VILLAGE,
        nik=make_nik(_date("1982-06-08"), "F", region="170402"),
        phone="081377788899",
        mother_maiden_name="Juariah",
    )
    save(operator, a)
    save(operator, b)
    assert not DuplicatePair.objects.exists()


def test_pairs_found_within_one_request_and_keys_stored(operator):
    first = base_person()
    second = {**base_person(), "id": "again", "nik": "", "full_name": "H. Yoesoef Hidajat"}
    save(operator, first, second)
    assert list(DuplicatePair.objects.values_list("a_id", "b_id")) == [("again", first["id"])]
    assert MatchName.objects.get(worker_id="again").name_key == "yusuf hidayat"
    # NIK (whole and its region + date part), KK and phone for the first; KK and phone for the second.
    keys = {
        w: (n != "", p != "", k != "", ph != "")
        for w, n, p, k, ph in MatchName.objects.values_list("worker_id", *MATCH_KEY_FIELDS)
    }
    assert keys == {first["id"]: (True, True, True, True), "again": (False, False, True, True)}
    assert not MatchName.objects.filter(nik_key__contains=first["nik"]).exists()


def test_a_corrected_record_drops_its_open_pair(operator, api):
    first = base_person()
    second = {**base_person(), "id": "again", "nik": ""}
    save(operator, first, second)
    assert DuplicatePair.objects.count() == 1
    corrected = {
        **second,
        "full_name": "Rahmat Saputra",
        "birth_date": "1990-11-20",
        "kk_number": "",
        "phone": "081355566677",
        "mother_maiden_name": "Aisyah",
    }
    save(operator, corrected)
    assert not DuplicatePair.objects.exists()


def test_a_dismissed_pair_stays_dismissed_and_unflagged(operator):
    first = base_person()
    second = {**base_person(), "id": "again", "nik": "", "full_name": "H. Yusuf Hidayat"}
    save(operator, first, second)
    DuplicatePair.objects.update(status=DuplicateStatus.DISMISSED)
    save(operator, {**second, "birth_place": "Bintuhan"})
    pair = DuplicatePair.objects.get()
    assert pair.status == DuplicatePair.objects.get().status == DuplicateStatus.DISMISSED
    assert "possible_duplicate" not in Worker.objects.get(id="again").warnings


# --- the same-village warning from what the finder read ----------------------------------------

SAME_VILLAGE_QUERY = "AS pair(village, born)"  # workers.services._same_village_and_birth_date


def namesake(serial: int, **overrides: Any) -> dict[str, Any]:
    """Siti Aminah of Gedung Wani born 1982-06-08, with her own valid NIK, phone, KK and mother:
    the finder scores two of them below its threshold (they share only a common name and a
    date), the same-village check still warns."""
    values = {
        "full_name": "Siti Aminah",
        "sex": "F",
        "birth_date": "1982-06-08",
        "nik": make_nik(_date("1982-06-08"), "F", serial=serial),
        "phone": f"0812{serial:08d}",
        "kk_number": f"17040112{serial:08d}",
        "mother_maiden_name": f"Ibu {serial}",
    }
    return worker_payload(**{**values, **overrides})


def save_counting(user, *bodies: dict[str, Any]) -> tuple[list[Any], list[str]]:
    with CaptureQueriesContext(connection) as queries:
        outcomes = save(user, *bodies)
    return outcomes, [q["sql"] for q in queries.captured_queries]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm search: PostgreSQL only")
def test_a_namesake_in_the_village_warns_without_asking_the_database_again(operator):
    save(operator, namesake(21))
    (outcome,), sql = save_counting(operator, namesake(977, full_name="SITI AMINAH"))
    assert outcome.row.warnings == ["possible_duplicate"]
    assert not DuplicatePair.objects.exists()  # the warning is the same-village check's alone
    assert not [q for q in sql if SAME_VILLAGE_QUERY in q]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm search: PostgreSQL only")
def test_a_namesake_needing_correction_does_not_warn(operator):
    first = namesake(21)
    save(operator, first)
    Worker.objects.filter(id=first["id"]).update(needs_correction=True)
    (outcome,), sql = save_counting(operator, namesake(977))
    assert outcome.row.warnings == []
    assert not [q for q in sql if SAME_VILLAGE_QUERY in q]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm search: PostgreSQL only")
def test_a_birth_date_search_cut_at_its_limit_asks_the_database(operator, settings):
    """Three stored Siti Aminahs born that day and DQ_MAX_CANDIDATES 2: the finder read only two
    of them, so whether the third is the same person is asked of the database."""
    settings.DQ_MAX_CANDIDATES = 2
    save(operator, namesake(21), namesake(22, full_name="Siti Aminah Ningsih"), namesake(23))
    (outcome,), sql = save_counting(operator, namesake(977))
    assert outcome.row.warnings == ["possible_duplicate"]
    assert len([q for q in sql if SAME_VILLAGE_QUERY in q]) == 1


@pytest.mark.parametrize("finder", [True, False])
def test_the_same_village_warning_holds_with_the_finder_off(operator, settings, finder):
    settings.DQ_FINDER = finder
    save(operator, namesake(21))
    outcomes, sql = save_counting(operator, namesake(977), namesake(978, full_name="Rahmat Saputra"))
    assert [o.row.warnings for o in outcomes] == [["possible_duplicate"], []]
    assert Worker.objects.get(id=outcomes[0].id).warnings == ["possible_duplicate"]
    # Off, nothing was searched: the database is asked about both records, in one query.
    assert len([q for q in sql if SAME_VILLAGE_QUERY in q]) == (0 if finder else 1)


# --- candidates left unscored: the given-name floor ------------------------------------------


def test_the_name_floor_is_the_name_gate_with_the_default_weights(settings):
    assert name_similarity_floor(settings.DQ_THRESHOLD) == settings.DQ_NAME_MIN == 0.8
    # A threshold as low as the corpus sweep's first: a halved score can reach it from 0.11 up.
    assert name_similarity_floor(0.5) == pytest.approx((2 * 0.5 - 0.95) / 0.45)


def test_the_name_floor_follows_the_weights(settings):
    """With more weight on the other evidence a halved score can still reach the threshold:
    the floor drops below the gate, to (2 x 0.7 - 1.2) / 0.45."""
    settings.DQ_WEIGHTS = {**settings.DQ_WEIGHTS, "kk": 0.35, "phone": 0.35}  # the rest: 0.95 → 1.45
    rest = sum(w for k, w in settings.DQ_WEIGHTS.items() if k != "name")
    assert rest == pytest.approx(1.45)
    assert name_similarity_floor(0.7) == 0.0  # 1.45 halved is past 0.7 already: every name could
    settings.DQ_WEIGHTS = {**settings.DQ_WEIGHTS, "kk": 0.1, "phone": 0.1, "mother": 0.35}
    assert name_similarity_floor(0.7) == pytest.approx((1.4 - 1.2) / 0.45)


@pytest.mark.parametrize(("other", "ratio"), [("Yusuf Rahmat", 72.0), ("Yusuf Hasan", 75.0)])
def test_a_name_below_the_floor_cannot_reach_the_threshold(settings, other, ratio):
    """Everything else as alike as two records can be (NIK one digit apart, the same KK, phone,
    birth date, mother and village): a given name below the floor still scores under the
    threshold, so the finder loses nothing by not scoring it."""
    born = dt.date(1985, 3, 7)
    nik = make_nik(born, "M", serial=21)
    shared = {
        "village_id": GEDUNG_WANI,
        "kk_number": "1704011234567890",
        "phone": "+6281234567890",
        "birth_date": born,
        "sex": "M",
        "mother_maiden_name": "Fatimah",
    }
    a = Person(id="a", nik=nik, full_name="Yusuf Hidayat", **shared)
    b = Person(id="b", nik=nik[:-1] + str((int(nik[-1]) + 1) % 10), full_name=other, **shared)
    assert fuzz.token_sort_ratio(name_key(a.full_name), name_key(b.full_name)) == ratio < 100 * 0.8
    result = score_pair(a, b)
    assert "nik_one_digit_apart" in result.reasons
    assert result.score < settings.DQ_THRESHOLD
