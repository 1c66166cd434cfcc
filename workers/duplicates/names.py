"""Indonesian name normalisation for matching (never for display: names are kept as typed).

`name_key("Hj. Siti Aminah binti H. Abdoellah, S.Pd.")` → `"siti amina"`, with the father's
name kept apart (`patronym`) so "Ahmad bin Yusuf" and "Ahmad" still meet while "Ahmad bin Yusuf"
and "Ahmad bin Ali" can be told apart by the scorer. Steps, in order:
1. accents folded, case folded, apostrophes dropped (Ma'ruf = Maruf), other punctuation → space;
2. titles and degrees dropped (H., Hj., Drs., Dr., Ir., KH, Ust., S.Pd., S.Ag., A.Md., …);
3. the patronymic split at bin / binti / bt / bn;
4. token variants: Muhammad / Muhamad / Mohammad / Moch. / Muh. / M. → muhammad; St. → siti
   (first token only: later it is the S.T. degree); Abd. / Abdoel → abdul;
5. old and loose spellings: oe→u, dj→j, tj→c, sj→sy, nj→ny, j→y, ch→kh→h, dh→d, th→t, ph→f, q→k,
   sy→s, a final h after a vowel dropped (Aminah / Amina);
6. doubled letters collapsed (Muhammad → muhamad, Fattah → fatah).
Pure functions, no settings: the same key on every row, so a change here needs a key refresh
(`manage.py refresh_match_keys`).
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Before the name (honorifics) and after it (academic degrees), dots and spaces removed.
TITLES = frozenset(
    {
        "h", "hj", "haji", "hajjah", "hajah", "drs", "dra", "dr", "ir", "prof", "kh", "ust", "ustadz",
        "ustaz", "ustadzah", "tgk", "bpk", "bapak", "ibu", "ny", "nyonya", "sdr", "sdri", "alm", "almh",
        "spd", "spdi", "sag", "se", "sh", "skom", "ssos", "sip", "skep", "sked", "spt", "ssi",
        "shi", "sth", "sst", "st", "amd", "amdkep", "mpd", "msi", "mm", "mag", "mh", "mkes", "sikom",
        "ssit", "skm", "sfarm", "sp", "ama", "amapd", "bsc", "ba", "mba", "phd", "lc",
    }
)  # fmt: skip
PATRONYMIC = frozenset({"bin", "binti", "bt", "bn", "bte"})
MUHAMMAD = frozenset(
    {
        "muhammad", "muhamad", "muhammed", "muhamed", "mohammad", "mohamad", "mohammed", "mohamed",
        "mochammad", "mochamad", "mokhammad", "mukhammad", "muchammad", "muchamad", "moch", "moh",
        "muh", "mhd", "md", "m", "mohd", "muhd", "mhmd", "mohamat", "muhamat",
    }
)  # fmt: skip
ABDUL = frozenset({"abd", "abdul", "abdoel", "abdoul", "abdu"})
SITI = frozenset({"siti", "sitti", "st"})

# Old (pre-1972) and loose spellings, applied in this order to each token.
SPELLINGS = (
    ("oe", "u"),
    ("dj", "j"),
    ("tj", "c"),
    ("sj", "sy"),
    ("nj", "ny"),
    ("j", "y"),  # the old j is today's y (Jusuf / Yusuf); modern j is merged with it on both sides
    ("ch", "kh"),
    ("kh", "h"),
    ("dh", "d"),
    ("th", "t"),
    ("ph", "f"),
    ("q", "k"),
    ("sy", "s"),
)
APOSTROPHES = re.compile("['`\u2018\u2019\u02bc]")  # ' ` and the typographic ones
NOT_LETTER = re.compile(r"[^a-z]+")
DOUBLED = re.compile(r"(.)\1+")
FINAL_H = re.compile(r"([aeiou])h$")


def _fold(text: str) -> str:
    if text.isascii():  # nothing to decompose (most names): the per-character pass is skipped
        return APOSTROPHES.sub("", text.casefold())
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return APOSTROPHES.sub("", plain.casefold())


def _tokens(text: str) -> list[str]:
    text = _fold(text)
    if "." in text:
        # "S.Pd." and "S. Pd" are one degree: join a lone letter followed by a dot to the next token.
        text = re.sub(r"\b([a-z])\.\s*(?=[a-z]{1,4}\b\.?)", r"\1", text).replace(".", ". ")
    return NOT_LETTER.sub(" ", text).split()


@functools.lru_cache(maxsize=16_384)  # one token's spelling rules (~30 µs); tokens recur even when names do not
def _spell(token: str) -> str:
    for old, new in SPELLINGS:
        token = token.replace(old, new)
    token = DOUBLED.sub(r"\1", token)
    return FINAL_H.sub(r"\1", token)


@functools.lru_cache(maxsize=65_536)  # the same names recur (a bulk, a village, the commonest names)
def split_name(full_name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(given-name tokens, patronymic tokens), both normalised."""
    tokens = _tokens(full_name)
    given: list[str] = []
    father: list[str] = []
    target = given
    for position, token in enumerate(tokens):
        if token in PATRONYMIC and given:
            target = father
            continue
        if token in SITI and (token != "st" or (position == 0 and len(tokens) > 1)):
            target.append("siti")
            continue
        if token in TITLES:
            continue
        if token in MUHAMMAD:
            target.append("muhamad")
        elif token in ABDUL:
            target.append("abdul")
        else:
            target.append(_spell(token))
    if not given:  # a name made of titles only ("H."): keep what was typed
        given = [_spell(t) for t in tokens if t not in PATRONYMIC]
    return tuple(given), tuple(father)


def name_key(full_name: str) -> str:
    """The normalised given name (patronymic left out), as stored and trigram-indexed."""
    return " ".join(split_name(full_name)[0])


def patronym_key(full_name: str) -> str:
    """The normalised father's name after bin/binti, or ""."""
    return " ".join(split_name(full_name)[1])
