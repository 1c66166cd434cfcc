"""A labelled corpus of people for the duplicate finder: who is the same person, who is not.

`corpus(villages, seed=...)` makes, deterministically for a seed:
- base people (distinct persons) with realistic Indonesian names: households sharing a No. KK,
  phone and mother's maiden name (spouses, siblings), twins (same birth date, KK, mother,
  village and phone, consecutive NIK serials, names that often sound alike), and many people
  with the most common names (Siti Aminah, Muhammad Yusuf, ...) born in the same years: the hard
  non-duplicates;
- duplicate variants of some of them (one per chosen person), each with one to three
  perturbations of the kinds field data shows (DOMAIN.md "Duplicates"): see PERTURBATIONS.
Records are raw API bodies (the shape POST /workers takes), ids `p-…` for base people and
`d-…` for variants; `Corpus.true_pairs` holds the (base id, variant id) pairs.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

MALE = [
    "Ahmad",
    "Budi",
    "Agus",
    "Joko",
    "Slamet",
    "Bambang",
    "Hendra",
    "Rudi",
    "Dedi",
    "Andi",
    "Yusuf",
    "Rahmat",
    "Hasan",
    "Husin",
    "Sutrisno",
    "Supriadi",
    "Wahyu",
    "Eko",
    "Iwan",
    "Rizky",
    "Fajar",
    "Hadi",
    "Darmawan",
    "Syaiful",
    "Zainal",
    "Arif",
    "Irwan",
    "Junaidi",
    "Khairul",
    "Ridwan",
    "Taufik",
    "Yudi",
    "Sukardi",
    "Suparman",
    "Heri",
    "Edi",
    "Indra",
    "Jamaludin",
    "Nasrul",
    "Amir",
    "Ismail",
    "Idris",
    "Hamzah",
    "Sulaiman",
    "Usman",
    "Rusli",
    "Syahrul",
    "Marzuki",
    "Darwis",
    "Bahrudin",
    "Mahmud",
    "Kasim",
    "Jumadi",
    "Samsul",
    "Suroto",
]
FEMALE = [
    "Siti",
    "Sri",
    "Dewi",
    "Nur",
    "Aminah",
    "Fatimah",
    "Rahmawati",
    "Yuliani",
    "Wati",
    "Sumiati",
    "Ratna",
    "Lestari",
    "Rina",
    "Nurhayati",
    "Suryani",
    "Ani",
    "Endang",
    "Eka",
    "Yanti",
    "Maryam",
    "Halimah",
    "Khadijah",
    "Aisyah",
    "Zainab",
    "Rohani",
    "Masitah",
    "Juliana",
    "Rosmawati",
    "Desi",
    "Fitri",
    "Nurjanah",
    "Murni",
    "Sulastri",
    "Hasanah",
    "Mariana",
    "Salmah",
    "Rukiah",
    "Jumiati",
    "Ernawati",
    "Sartika",
    "Kartika",
    "Yusnita",
    "Nurlela",
    "Rosita",
    "Asmah",
    "Hafsah",
    "Juwita",
    "Cahaya",
    "Intan",
    "Rosidah",
]
SECOND = [
    "Saputra",
    "Pratama",
    "Hidayat",
    "Kurniawan",
    "Setiawan",
    "Gunawan",
    "Wijaya",
    "Susanto",
    "Santoso",
    "Nugroho",
    "Purnomo",
    "Hartono",
    "Sulistyo",
    "Ramadhan",
    "Firmansyah",
    "Hasibuan",
    "Nasution",
    "Siregar",
    "Lubis",
    "Harahap",
    "Handayani",
    "Wulandari",
    "Susanti",
    "Rahayu",
    "Anggraini",
    "Safitri",
    "Putri",
    "Oktaviani",
    "Hermawan",
    "Syahputra",
    "Hakim",
    "Jaya",
    "Mulyadi",
    "Suhendra",
    "Effendi",
    "Lukman",
    "Rasyid",
    "Nurdin",
    "Fauzi",
    "Yunus",
    "Kadir",
    "Sofyan",
    "Junaidi",
    "Maulana",
    "Cahyono",
    "Jumadi",
    "Ujang",
    "Juanda",
    "Cahyadi",
    "Usman",
    "Yulianto",
    "Juliansyah",
    "Subur",
    "Mustafa",
    "Rukmana",
]
# The most common full names: many distinct people carry them (hard non-duplicates).
COMMON = (
    ("Siti Aminah", "F"), ("Muhammad Yusuf", "M"), ("Siti Fatimah", "F"), ("Ahmad Hidayat", "M"),
    ("Nurhayati", "F"), ("Sri Wahyuni", "F"), ("Muhammad Rizky", "M"), ("Agus Setiawan", "M"),
    ("Dewi Lestari", "F"), ("Budi Santoso", "M"),
)  # fmt: skip
MUHAMMAD_VARIANTS = ("Muhammad", "Muhamad", "Mohammad", "Mohamad", "Moch.", "Muh.", "M.")
TITLES_BEFORE = ("H.", "Hj.", "Drs.", "Dra.", "Ir.")
TITLES_AFTER = ("S.Pd.", "S.Ag.", "S.E.", "S.H.", "A.Md.", "S.Sos.")
TWIN_NAMES = {
    "M": (("Hasan", "Husin"), ("Hasan", "Husein"), ("Fajar", "Fajri"), ("Wawan", "Iwan"), ("Rudi", "Rido"),
          ("Agus Saputra", "Bagus Saputra"), ("Dani", "Doni"), ("Adi Pratama", "Edi Pratama")),
    "F": (("Rina", "Rini"), ("Dewi Sartika", "Dewi Kartika"), ("Putri", "Putra"), ("Nur Aini", "Nur Asih"),
          ("Ani", "Ina"), ("Wulan", "Bulan"), ("Intan", "Permata"), ("Siti Hawa", "Siti Hajar")),
}  # fmt: skip
OLD_SPELLING = (("u", "oe"), ("j", "dj"), ("c", "tj"), ("y", "j"))


@dataclass
class Corpus:
    people: list[dict[str, Any]] = field(default_factory=list)  # base people (distinct persons)
    variants: list[dict[str, Any]] = field(default_factory=list)  # duplicate records of some of them
    true_pairs: set[tuple[str, str]] = field(default_factory=set)  # (base id, variant id)
    kinds: dict[str, list[str]] = field(default_factory=dict)  # variant id → perturbation kinds
    hard: dict[str, int] = field(default_factory=dict)  # hard non-duplicate groups made, by kind

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.people + self.variants


def nik_for(region: str, born: dt.date, sex: str, serial: int) -> str:
    day = born.day + (40 if sex == "F" else 0)
    return f"{region}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


def _region(village: str) -> str:
    return village[:8].replace(".", "")  # 17.04.01.2001 → 170401 (where first registered)


# --- perturbations: each takes a record (a copy) and changes it the way field data differs ------


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("substitute", "delete", "transpose", "insert"))
    letters = "aiueonmrstkl"
    if kind == "substitute":
        return word[:i] + rng.choice([c for c in letters if c != word[i]]) + word[i + 1 :]
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "transpose":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice(letters) + word[i:]


def p_title(rng: random.Random, r: dict[str, Any]) -> bool:
    before = "Hj." if r["sex"] == "F" and rng.random() < 0.5 else rng.choice(TITLES_BEFORE)
    r["full_name"] = (
        f"{before} {r['full_name']}" if rng.random() < 0.6 else f"{r['full_name']}, {rng.choice(TITLES_AFTER)}"
    )
    return True


def p_patronym(rng: random.Random, r: dict[str, Any]) -> bool:
    r["full_name"] = f"{r['full_name']} {'binti' if r['sex'] == 'F' else 'bin'} {rng.choice(MALE)}"
    return True


def p_muhammad(rng: random.Random, r: dict[str, Any]) -> bool:
    words = r["full_name"].split()
    for i, w in enumerate(words):
        if w.rstrip(".") in {v.rstrip(".") for v in MUHAMMAD_VARIANTS}:
            words[i] = rng.choice([v for v in MUHAMMAD_VARIANTS if v != w])
            r["full_name"] = " ".join(words)
            return True
    return False


def p_siti(rng: random.Random, r: dict[str, Any]) -> bool:
    if not r["full_name"].startswith("Siti "):
        return False
    r["full_name"] = "St. " + r["full_name"][5:]
    return True


def p_old_spelling(rng: random.Random, r: dict[str, Any]) -> bool:
    name = r["full_name"]
    options = [(new, old) for new, old in OLD_SPELLING if new in name.lower()]
    if not options:
        return False
    new, old = rng.choice(options)
    i = name.lower().index(new)
    replacement = old.capitalize() if name[i].isupper() else old
    r["full_name"] = name[:i] + replacement + name[i + len(new) :]
    return True


def p_doubled(rng: random.Random, r: dict[str, Any]) -> bool:
    name = r["full_name"]
    doubled = [i for i in range(1, len(name)) if name[i] == name[i - 1] and name[i].isalpha()]
    if doubled:
        i = rng.choice(doubled)
        r["full_name"] = name[:i] + name[i + 1 :]
    else:
        consonants = [i for i, c in enumerate(name) if c in "lmnrst" and 0 < i < len(name) - 1]
        if not consonants:
            return False
        i = rng.choice(consonants)
        r["full_name"] = name[:i] + name[i] + name[i:]
    return True


def p_typo(rng: random.Random, r: dict[str, Any]) -> bool:
    words = r["full_name"].split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    words[i] = _typo(rng, words[i])
    r["full_name"] = " ".join(words)
    return True


def p_date_swap(rng: random.Random, r: dict[str, Any]) -> bool:
    born = dt.date.fromisoformat(r["birth_date"])
    if born.day > 12 or born.day == born.month:
        return False
    r["birth_date"] = born.replace(day=born.month, month=born.day).isoformat()
    return True


def p_date_typo(rng: random.Random, r: dict[str, Any]) -> bool:
    born = dt.date.fromisoformat(r["birth_date"])
    for _ in range(10):
        text = list(born.strftime("%Y%m%d"))
        i = rng.choice((3, 5, 6, 7))  # last year digit, month, day (the digits people mistype)
        text[i] = rng.choice([d for d in "0123456789" if d != text[i]])
        try:
            r["birth_date"] = dt.datetime.strptime("".join(text), "%Y%m%d").date().isoformat()
            return True
        except ValueError:
            continue
    return False


def p_nik_typo(rng: random.Random, r: dict[str, Any]) -> bool:
    nik = r["nik"]
    if not nik:
        return False
    for _ in range(20):
        i = rng.randrange(16)
        candidate = nik[:i] + rng.choice([d for d in "0123456789" if d != nik[i]]) + nik[i + 1 :]
        if _structurally_valid(candidate):
            r["nik"] = candidate
            return True
    return False


def p_no_nik(rng: random.Random, r: dict[str, Any]) -> bool:
    """Registered again without a NIK (no e-KTP at hand): KK and mother's name are the hints."""
    r["nik"] = ""
    return True


def p_moved(rng: random.Random, r: dict[str, Any], villages: Sequence[str] = ()) -> bool:
    """Registered again in another village after a move: same NIK, new phone often."""
    others = [v for v in villages if v != r["village"]]
    if not others:
        return False
    r["village"] = rng.choice(others)
    if rng.random() < 0.5:
        r["phone"] = _phone(rng)
    return True


NAME_PERTURBATIONS: dict[str, Callable[[random.Random, dict[str, Any]], bool]] = {
    "title": p_title,
    "patronym": p_patronym,
    "muhammad": p_muhammad,
    "siti": p_siti,
    "old_spelling": p_old_spelling,
    "doubled_letter": p_doubled,
    "typo": p_typo,
}
DATE_PERTURBATIONS = {"date_swap": p_date_swap, "date_typo": p_date_typo}
NIK_PERTURBATIONS = {"nik_typo": p_nik_typo, "no_nik": p_no_nik}
PERTURBATIONS = (*NAME_PERTURBATIONS, *DATE_PERTURBATIONS, *NIK_PERTURBATIONS, "moved")


def _structurally_valid(nik: str) -> bool:
    day, month = int(nik[6:8]), int(nik[8:10])
    if day > 40:
        day -= 40
    if nik[12:] == "0000" or nik[2:4] == "00" or nik[4:6] == "00" or nik[:2] != "17":
        return False
    try:
        dt.date(2000, month, day)
    except ValueError:
        return False
    return True


def _phone(rng: random.Random) -> str:
    return f"08{rng.choice('1235')}{rng.randrange(10**8, 10**9)}"


def _body(**values: Any) -> dict[str, Any]:
    return {
        "birth_place": "Kaur",
        "address": {"street": "Jl. Desa", "dusun": "Dusun I", "rt": "001", "rw": "001"},
        "occupation": "petani",
        "monthly_income": 1_200_000,
        "consent": {"given_at": "2026-11-20T09:00:00+07:00", "method": "thumbprint", "recorded_by": "petugas"},
        **values,
    }


def corpus(villages: Sequence[str], *, seed: int = 14, households: int = 420, variants: int = 560) -> Corpus:
    """The labelled corpus (see the module's docstring): about 2.6 people per household."""
    rng = random.Random(seed)
    out = Corpus()
    serials: dict[tuple[str, dt.date], int] = {}

    def born_in(year: int | None = None) -> dt.date:
        year = year or rng.randrange(1962, 2008)
        return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))

    def person(village: str, name: str, sex: str, born: dt.date, kk: str, phone: str, mother: str) -> dict[str, Any]:
        region = _region(village)
        serial = serials[(region, born)] = serials.get((region, born), 0) + 1
        body = _body(
            id=f"p-{len(out.people):05d}",
            nik=nik_for(region, born, sex, serial),
            kk_number=kk,
            full_name=name,
            birth_date=born.isoformat(),
            sex=sex,
            phone=phone,
            village=village,
            mother_maiden_name=mother,
        )
        out.people.append(body)
        return body

    def given(sex: str) -> str:
        first = rng.choice(MALE if sex == "M" else FEMALE)
        if sex == "M" and rng.random() < 0.15:
            first = f"{rng.choice(MUHAMMAD_VARIANTS[:4])} {rng.choice(MALE)}"
        if rng.random() < 0.25:
            return first  # a single name is normal
        return f"{first} {rng.choice(SECOND)}"

    for h in range(households):
        village = rng.choice(villages)
        kk = f"{_region(village)}{rng.randrange(10**9, 10**10)}"
        phone = _phone(rng)
        mother = f"{rng.choice(FEMALE)} {rng.choice(SECOND)}" if rng.random() < 0.8 else rng.choice(FEMALE)
        # Parents: spouses share KK and often the phone.
        father_born = born_in(rng.randrange(1962, 1990))
        person(village, given("M"), "M", father_born, kk, phone, f"{rng.choice(FEMALE)}")
        if rng.random() < 0.8:
            person(
                village,
                given("F"),
                "F",
                born_in(father_born.year + rng.randrange(-3, 6)),
                kk,
                phone,
                rng.choice(FEMALE),
            )
        # Grown children share KK, mother's name; sometimes the phone.
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            sex = rng.choice("MF")
            person(
                village,
                given(sex),
                sex,
                born_in(min(father_born.year + 22, 2007)),
                kk,
                phone if rng.random() < 0.5 else _phone(rng),
                mother,
            )
        if h % 12 == 0:  # twins: everything shared but the name (and sometimes the sex)
            born = born_in(min(father_born.year + 20, 2006))
            sex_a = rng.choice("MF")
            sex_b = sex_a if rng.random() < 0.6 else ("F" if sex_a == "M" else "M")
            first, second = given(sex_a), given(sex_b)
            if sex_a == sex_b and rng.random() < 0.5:  # twins' names that sound alike
                first, second = rng.choice(TWIN_NAMES[sex_a])
            person(village, first, sex_a, born, kk, phone, mother)
            person(village, second, sex_b, born, kk, phone, mother)
            out.hard["twins"] = out.hard.get("twins", 0) + 1
    # Namesakes: the commonest names, born in the same few years, all over the province.
    for i in range(len(out.people) // 6):
        name, sex = COMMON[i % len(COMMON)]
        village = rng.choice(villages)
        born = born_in(1980 + i % 4) if i % 3 else born_in()
        person(
            village,
            name,
            sex,
            born,
            f"{_region(village)}{rng.randrange(10**9, 10**10)}",
            _phone(rng),
            rng.choice(FEMALE),
        )
        out.hard["namesakes"] = out.hard.get("namesakes", 0) + 1

    chosen = rng.sample(out.people, variants)
    for n, base in enumerate(chosen):
        record = {**base, "id": f"d-{n:05d}", "address": dict(base["address"])}
        kinds: list[str] = []
        # How the NIK was typed the second time: again (the classic), one digit off, or not at all.
        roll = rng.random()
        if roll < 0.15 and p_moved(rng, record, villages):
            kinds.append("moved")
        elif roll < 0.45 and p_nik_typo(rng, record):
            kinds.append("nik_typo")
        elif roll < 0.7:
            p_no_nik(rng, record)
            kinds.append("no_nik")
        for name in rng.sample(list(NAME_PERTURBATIONS), k=rng.choice((1, 1, 2))):
            if NAME_PERTURBATIONS[name](rng, record):
                kinds.append(name)
        if rng.random() < 0.3:
            name = rng.choice(list(DATE_PERTURBATIONS))
            if DATE_PERTURBATIONS[name](rng, record):
                kinds.append(name)
        if rng.random() < 0.3:
            record["phone"] = _phone(rng)  # a new phone number since
        out.variants.append(record)
        out.true_pairs.add((base["id"], record["id"]))
        out.kinds[record["id"]] = kinds
    return out
