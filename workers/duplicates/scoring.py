"""A pair's score and reasons: how alike two people's records are, in [0, 1].

Evidence, each in [0, 1], weighted (settings DQ_WEIGHTS) and summed:
- name: rapidfuzz's token-sort ratio of the normalised names (names.py), so word order, spelling
  variants and typos cost little; a patronymic present on both sides and different lowers it;
- birth_date: 1 the same, DQ_DATE_SWAPPED day and month swapped, DQ_DATE_TYPO one digit or two
  neighbouring digits apart (of YYYYMMDD), else 0;
- nik: 1 the same, DQ_NIK_TYPO one digit (or two neighbouring digits swapped) apart, else 0;
- kk, phone: 1 when equal (families share both, so they only add to a name match);
- mother: the mother's maiden names' similarity (normalised), when both are known;
- village: the same village.
Then the gates, because relatives share everything but the name: a name similarity below
DQ_NAME_MIN halves the score, a different sex multiplies it by DQ_SEX_DIFFERS, two valid NIKs
more than one digit apart by DQ_NIK_DIFFERS (two identity cards); the same NIK is a
duplicate whatever else differs (DQ_SAME_NIK_SCORE). A pair is flagged at DQ_THRESHOLD. The
values were chosen on the labelled corpus (bench/duplicates.py, docs/dq.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from rapidfuzz import fuzz

from workers.duplicates.keys import is_nik
from workers.duplicates.names import split_name


class Reason:
    """Stable reason codes of a pair (API: `reasons`)."""

    SAME_NIK = "same_nik"
    NIK_ONE_DIGIT = "nik_one_digit_apart"
    SAME_KK = "same_kk"
    SAME_PHONE = "same_phone"
    SIMILAR_NAME = "similar_name"
    SAME_BIRTH_DATE = "same_birth_date"
    BIRTH_DATE_SWAPPED = "birth_date_day_month_swapped"
    BIRTH_DATE_TYPO = "birth_date_one_digit_apart"
    SAME_MOTHER = "same_mother_maiden_name"
    SAME_VILLAGE = "same_village"


@dataclass(frozen=True)
class Person:
    """What scoring reads of one record (a stored worker or a lookup's question)."""

    id: str
    village_id: str = ""
    nik: str = ""
    kk_number: str = ""
    phone: str = ""
    full_name: str = ""
    birth_date: dt.date | None = None
    sex: str = ""
    mother_maiden_name: str = ""

    @property
    def names(self) -> tuple[str, str]:
        given, father = split_name(self.full_name)
        return " ".join(given), " ".join(father)


@dataclass(frozen=True)
class PairScore:
    score: float
    reasons: tuple[str, ...]


def _one_edit_apart(a: str, b: str) -> bool:
    """Same length, one character different or two neighbours swapped."""
    if len(a) != len(b) or a == b:
        return False
    diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diffs) == 1:
        return True
    return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]


def swapped(date: dt.date) -> dt.date | None:
    """The date with day and month swapped, if that is another real date."""
    if date.day > 12 or date.day == date.month:
        return None
    return date.replace(month=date.day, day=date.month)


def nik_one_digit_apart(a: str, b: str) -> bool:
    return len(a) == 16 and _one_edit_apart(a, b)


def _date_evidence(a: dt.date | None, b: dt.date | None) -> tuple[float, str | None]:
    if a is None or b is None:
        return 0.0, None
    if a == b:
        return 1.0, Reason.SAME_BIRTH_DATE
    if swapped(a) == b:
        return settings.DQ_DATE_SWAPPED, Reason.BIRTH_DATE_SWAPPED
    if _one_edit_apart(a.strftime("%Y%m%d"), b.strftime("%Y%m%d")):
        return settings.DQ_DATE_TYPO, Reason.BIRTH_DATE_TYPO
    return 0.0, None


def name_similarity(a: Person, b: Person) -> float:
    (given_a, father_a), (given_b, father_b) = a.names, b.names
    similarity = fuzz.token_sort_ratio(given_a, given_b) / 100
    if father_a and father_b and fuzz.ratio(father_a, father_b) < 80:
        similarity *= settings.DQ_PATRONYM_DIFFERS
    return similarity


def score_pair(a: Person, b: Person) -> PairScore:
    """The score and reasons of two records (symmetric)."""
    weights = settings.DQ_WEIGHTS
    reasons: list[str] = []
    total = 0.0

    if a.nik and a.nik == b.nik:
        reasons.append(Reason.SAME_NIK)
        total += weights["nik"]
    elif nik_one_digit_apart(a.nik, b.nik):
        reasons.append(Reason.NIK_ONE_DIGIT)
        total += weights["nik"] * settings.DQ_NIK_TYPO
    if a.kk_number and a.kk_number == b.kk_number:
        reasons.append(Reason.SAME_KK)
        total += weights["kk"]
    if a.phone and a.phone == b.phone:
        reasons.append(Reason.SAME_PHONE)
        total += weights["phone"]

    name = name_similarity(a, b) if a.full_name and b.full_name else 0.0
    if name >= settings.DQ_NAME_MIN:
        reasons.append(Reason.SIMILAR_NAME)
    total += weights["name"] * name

    date, date_reason = _date_evidence(a.birth_date, b.birth_date)
    if date_reason:
        reasons.append(date_reason)
    total += weights["birth_date"] * date

    if a.mother_maiden_name and b.mother_maiden_name:
        mother = _mother_similarity(a.mother_maiden_name, b.mother_maiden_name)
        if mother >= settings.DQ_NAME_MIN:
            reasons.append(Reason.SAME_MOTHER)
        total += weights["mother"] * mother
    if a.village_id and a.village_id == b.village_id:
        reasons.append(Reason.SAME_VILLAGE)
        total += weights["village"]

    score = total
    if is_nik(a.nik) and is_nik(b.nik) and not ({Reason.SAME_NIK, Reason.NIK_ONE_DIGIT} & set(reasons)):
        score *= settings.DQ_NIK_DIFFERS  # two valid NIKs far apart: two identity cards
    if name < settings.DQ_NAME_MIN:
        score *= 0.5
    if a.sex and b.sex and a.sex != b.sex:
        score *= settings.DQ_SEX_DIFFERS
    if Reason.SAME_NIK in reasons:
        score = max(score, settings.DQ_SAME_NIK_SCORE)
    return PairScore(score=round(min(score, 1.0), 3), reasons=tuple(reasons))


def name_similarity_floor(threshold: float) -> float:
    """The lowest given-name similarity (the normalised given names' token-sort ratio, before the
    patronymic's penalty, which only lowers it) at which `score_pair` can still reach `threshold`,
    whatever else the two records hold: every other evidence at full weight, no gate but the
    name's (the others are penalties; one set above 1 would raise the ceiling and is counted).
    Above 1: no name can. The finder scores, and decrypts, only candidates at or above it (and
    any with the same NIK, a duplicate whatever the name); with the default weights it is
    DQ_NAME_MIN, which leaves out most of a birth date's namesakes."""
    weights = settings.DQ_WEIGHTS
    rest = sum(weight for kind, weight in weights.items() if kind != "name")
    target = threshold / (max(settings.DQ_NIK_DIFFERS, 1.0) * max(settings.DQ_SEX_DIFFERS, 1.0))
    if weights["name"] <= 0:
        return 0.0 if rest >= target else 2.0
    halved = (2 * target - rest) / weights["name"]  # below DQ_NAME_MIN the score is halved
    if halved < settings.DQ_NAME_MIN:
        return max(halved, 0.0)
    return max((target - rest) / weights["name"], settings.DQ_NAME_MIN)


def _mother_similarity(a: str, b: str) -> float:
    return fuzz.token_sort_ratio(" ".join(split_name(a)[0]), " ".join(split_name(b)[0])) / 100
