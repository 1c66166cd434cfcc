"""The candidate finder: likely duplicates of the records of one save, found set-wise.

Runs inside every worker save (REST create and PATCH, bulk, sync push, import: all of them go
through villages/upsert.py's `records_save`), in two steps of the workers table
(workers.services.WorkerTable):

1. `prepare` (before the records are decided): `find_matches` searches the stored workers for
   every record of the request with a constant number of queries, whatever their number, and
   compares the request's records with each other. Candidates share an exact key
   (keys.py: NIK, its region + date part, KK, phone: a column each of `workers_matchname`, one
   row per worker, each column with a partial btree) or were born on the same date or its
   day/month swap with a similar normalised name (the same row's birth date btree, pg_trgm's
   similarity() as the filter in SQL). Every key reads at most DQ_MAX_CANDIDATES rows: a key
   shared by more people (a village office's phone) says nothing.
   Candidates are scored in Python (scoring.py); pairs at DQ_THRESHOLD or above are matches.
2. `after_write` (the rows are written, same transaction): `store_matches` rewrites the saved
   workers' match rows and upserts their pairs; a pair already dismissed stays dismissed, an
   open pair no longer found (the record was corrected) is removed.
SQLite (the embedded pilot) has no pg_trgm: there the names are compared in Python.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from rapidfuzz import fuzz

from config.bulk import insert_rows
from config.lookups import text_array
from workers.duplicates.keys import kk_key, nik_key, nik_part_key, phone_key
from workers.duplicates.names import name_key
from workers.duplicates.scoring import (
    PairScore,
    Person,
    name_similarity,
    name_similarity_floor,
    score_pair,
    swapped,
)
from workers.models import MATCH_KEY_FIELDS, DuplicatePair, DuplicateStatus, MatchName, Worker

PERSON_FIELDS = (
    "id", "village_id", "nik", "kk_number", "phone", "full_name", "birth_date", "sex", "mother_maiden_name",
)  # fmt: skip


_WORKER_VALUES = operator.attrgetter(*PERSON_FIELDS)  # one C call per row: store_matches reads 1,000 a request


def person_of(worker: Worker | Mapping[str, object]) -> Person:
    values = _WORKER_VALUES(worker) if isinstance(worker, Worker) else tuple(worker.get(name) for name in PERSON_FIELDS)
    worker_id, village_id, nik, kk_number, phone, full_name, birth_date, sex, mother_maiden_name = values
    return Person(
        id=str(worker_id or ""),
        village_id=str(village_id or ""),
        nik=str(nik or ""),
        kk_number=str(kk_number or ""),
        phone=str(phone or ""),
        full_name=str(full_name or ""),
        birth_date=birth_date if isinstance(birth_date, dt.date) else None,
        sex=str(sex or ""),
        mother_maiden_name=str(mother_maiden_name or ""),
    )


@dataclass(frozen=True)
class Probe:
    """What one record is searched by: its exact keys by kind (MATCH_KEY_FIELDS order: NIK, the
    NIK's first 12 digits, KK, phone; '' for none), its name key and birth dates."""

    person: Person
    key_columns: tuple[str, str, str, str]
    name: str
    dates: tuple[dt.date, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys it has (each kind its own purpose's digest: two kinds never share a value)."""
        return tuple(k for k in self.key_columns if k)


def probe_of(person: Person) -> Probe:
    # The first 12 digits of the NIK (region and birth date): a NIK whose serial was mistyped
    # still meets its twin record. A typo in the region or date digits leaves the declared birth
    # date as it was, so the name + birth date search finds that one; keys on the serial would
    # not help (serials are mostly 0001, so a key with one says nothing). The NIK, KK and phone
    # keys are the worker's own *_bi indexes (keys.py): inside a save (blind_index_memo) each is
    # computed once for the probe and the row.
    dates: tuple[dt.date, ...] = ()
    if person.birth_date is not None:
        other = swapped(person.birth_date)
        dates = (person.birth_date, other) if other else (person.birth_date,)
    return Probe(
        person=person,
        key_columns=(nik_key(person.nik), nik_part_key(person.nik), kk_key(person.kk_number), phone_key(person.phone)),
        name=name_key(person.full_name),
        dates=dates,
    )


@dataclass
class Matches:
    """Pairs found for a save: record id → {other worker id: score}."""

    pairs: dict[str, dict[str, PairScore]] = field(default_factory=dict)
    dismissed: set[tuple[str, str]] = field(default_factory=set)
    unsaved: set[str] = field(default_factory=set)  # the request's ids with no stored row yet
    probes: dict[str, Probe] = field(default_factory=dict)  # made once: store_matches reuses them
    # Per record whose birth-date search was read whole (it stayed under DQ_MAX_CANDIDATES;
    # PostgreSQL only): (village, full name) of every live stored worker needing no correction
    # born that day with a similar name. The same-village warning (workers.services) reads it.
    born_alike: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def born_with_similar_name(self, record_id: str) -> list[tuple[str, str]] | None:
        """(village, full name) of every live stored worker, correct ones only, born on the
        record's birth date with a name similar to its own (pg_trgm's DQ_TRGM_MIN: an equal name
        always is), or None when the search did not read them all: ask the database then."""
        return self.born_alike.get(record_id)

    def of(self, record_id: str) -> dict[str, PairScore]:
        return self.pairs.get(record_id, {})

    def flagged(self, record_id: str) -> bool:
        """A likely duplicate that nobody has dismissed."""
        return any(_ordered(record_id, other) not in self.dismissed for other in self.of(record_id))


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _stored_candidates(
    probes: Sequence[Probe], exclude: set[str], matches: Matches
) -> tuple[dict[str, set[str]], dict[str, Person]]:
    """(record id → ids of live stored workers sharing a key or a birth date with a similar
    name that could score DQ_THRESHOLD, those workers as Persons), leaving out the ids in
    `exclude`. On PostgreSQL one query finds them and reads their columns; it also fills
    `matches.born_alike`."""
    found: dict[str, set[str]] = defaultdict(set)
    people: dict[str, Person] = {}
    # (record id, key) per key kind: each kind is searched in its own column.
    by_kind = [
        [(p.person.id, p.key_columns[i]) for p in probes if p.key_columns[i]] for i in range(len(MATCH_KEY_FIELDS))
    ]
    date_triples = [(p.person.id, p.name, d) for p in probes if p.name for d in p.dates]
    limit = settings.DQ_MAX_CANDIDATES
    if connection.vendor == "postgresql":
        columns = ", ".join(f"w.{name}" for name in PERSON_FIELDS)
        # atomic: set_config(..., true) lasts to the end of a transaction, and a lookup may run
        # outside one (savepoint=False: inside a save, no extra round trips).
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            # Without JIT for this one query: its estimates (unnested arrays, a similarity filter)
            # pass jit_above_cost although it reads a few index entries per record, and compiling
            # it cost ~1 s per 1,000-record request against ~0.1 s of execution (docs/dq.md). The
            # setting the transaction had is put back after it. The workers are read per candidate
            # (LATERAL ... OFFSET 0: not pulled up into a join): the same estimates made a hash
            # join the planner's choice, a scan of the whole workers table per request.
            cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
            (jit_before, _off) = cursor.fetchone()
            # One branch per key kind that any record has (`<> ''`: the column's partial index).
            branches: list[str] = []
            params: list[str | int] = []
            for column, pairs in zip(MATCH_KEY_FIELDS, by_kind, strict=True):
                if pairs:
                    branches.append(
                        " SELECT q.rid, k.worker_id, NULL::date AS born FROM unnest(%s::text[], %s::text[]) AS q(rid, key)"  # noqa: S608 (MATCH_KEY_FIELDS)
                        f" CROSS JOIN LATERAL (SELECT worker_id FROM workers_matchname k WHERE k.{column} = q.key"
                        f"   AND k.{column} <> '' LIMIT %s) k UNION"
                    )
                    params += [text_array(r for r, _ in pairs), text_array(k for _, k in pairs), limit]
            # `born`: the date searched by a birth-date row (NULL for a key row), so the rows each
            # date search returned can be counted against its LIMIT.
            cursor.execute(
                f"SELECT c.rid, c.born, w.needs_correction, w.nik_bi, {columns} FROM ("  # noqa: S608 (column names from PERSON_FIELDS, MATCH_KEY_FIELDS)
                f"{''.join(branches)}"
                " SELECT n.rid, m.worker_id, n.born FROM unnest(%s::text[], %s::text[], %s::date[]) AS n(rid, name, born)"
                " CROSS JOIN LATERAL (SELECT worker_id FROM workers_matchname m"
                "   WHERE m.birth_date = n.born AND similarity(m.name_key, n.name) >= %s LIMIT %s) m"
                ") AS c CROSS JOIN LATERAL (SELECT * FROM workers_worker w"
                "   WHERE w.id = c.worker_id AND w.deleted_at IS NULL OFFSET 0) w",
                [
                    *params,
                    text_array(r for r, _, _ in date_triples),
                    text_array(n for _, n, _ in date_triples),
                    text_array(d.isoformat() for _, _, d in date_triples),
                    settings.DQ_TRGM_MIN,
                    limit,
                ],
            )
            fetched = cursor.fetchall()
            cursor.execute("SELECT set_config('jit', %s, true)", [jit_before])
        # Raw rows: a candidate whose score cannot reach the threshold whatever its encrypted
        # fields hold (its given name below scoring.name_similarity_floor, and not the same NIK
        # by the blind index) is left undecrypted and unscored, as most of a birth date's
        # namesakes are (decrypting candidates was the largest single item of a profiled bulk
        # request, docs/dq.md "Speed"). The others: each column through its field's own decoding
        # (encrypted fields decrypt). The request's own stored rows are left out here: as
        # `id <> ALL(<every id of the request>)` in SQL the filter ran on every joined row and
        # pushed the planner to a scan of workers.
        by_id = {p.person.id: p for p in probes}
        name_floor = name_similarity_floor(settings.DQ_THRESHOLD)
        decoders = [getattr(Worker._meta.get_field(name), "from_db_value", None) for name in PERSON_FIELDS]
        at = {name: PERSON_FIELDS.index(name) for name in ("id", "village_id", "full_name")}
        date_rows: Counter[tuple[str, dt.date]] = Counter()
        born_alike: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for rid, born, needs_correction, nik_bi, *values in fetched:
            probe = by_id[rid]
            if born is not None:
                date_rows[rid, born] += 1  # before `exclude`: the LIMIT counted those rows too
            worker_id = values[at["id"]]
            if worker_id in exclude:
                continue
            if born is not None and born == probe.person.birth_date and not needs_correction:
                born_alike[rid].append((values[at["village_id"]], values[at["full_name"]]))
            if worker_id in found[rid] or not _could_match(probe, values[at["full_name"]], nik_bi, name_floor):
                continue
            found[rid].add(worker_id)
            if worker_id not in people:
                decoded = [
                    decode(value, None, connection) if decode is not None and value is not None else value
                    for decode, value in zip(decoders, values, strict=True)
                ]
                people[worker_id] = person_of(dict(zip(PERSON_FIELDS, decoded, strict=True)))
        # A date search returning fewer rows than its LIMIT read every match row born that day
        # with a similar name; a record without a name key or a birth date had no such search.
        matches.born_alike = {
            p.person.id: born_alike.get(p.person.id, [])
            for p in probes
            if p.name and p.person.birth_date is not None and date_rows[p.person.id, p.person.birth_date] < limit
        }
        return found, people
    # SQLite: the same keys through the ORM; names compared here instead of by pg_trgm.
    for column, pairs in zip(MATCH_KEY_FIELDS, by_kind, strict=True):
        by_key: dict[str, list[str]] = defaultdict(list)
        if pairs:
            wanted_keys = {k for _, k in pairs}
            for key, worker_id in MatchName.objects.filter(**{f"{column}__in": wanted_keys}).values_list(
                column, "worker_id"
            ):
                by_key[key].append(worker_id)
        for rid, key in pairs:
            found[rid].update(by_key[key][:limit])
    by_date: dict[dt.date, list[tuple[str, str]]] = defaultdict(list)
    for worker_id, stored_name, born in MatchName.objects.filter(
        birth_date__in={d for _, _, d in date_triples}
    ).values_list("worker_id", "name_key", "birth_date"):
        if born is not None:
            by_date[born].append((worker_id, stored_name))
    for rid, name, born in date_triples:
        asked = Person(id=rid, full_name=name)
        similar = [w for w, n in by_date[born] if name_similarity(asked, Person(id=w, full_name=n)) >= 0.5]
        found[rid].update(similar[:limit])
    wanted = {w for ids in found.values() for w in ids} - exclude
    people = {
        row["id"]: person_of(row)
        for row in Worker.objects.filter(id__in=wanted, deleted_at__isnull=True).values(*PERSON_FIELDS)
    }
    return found, people


def _could_match(probe: Probe, full_name: str, nik_bi: str, name_floor: float) -> bool:
    """Whether a stored worker (its plain full name and NIK blind index) could score the
    threshold with the record searched by `probe` (`name_floor`: scoring.name_similarity_floor).
    A record whose NIK has no key (not 16 digits) may still equal the stored one exactly: that
    one is scored."""
    if probe.person.nik and (not probe.key_columns[0] or probe.key_columns[0] == nik_bi):
        return True
    if name_floor <= 0:
        return True
    cutoff = name_floor * 100 - 1e-9  # rapidfuzz stops early and answers 0 below it; no rounding's victim
    return fuzz.token_sort_ratio(probe.name, name_key(full_name), score_cutoff=cutoff) >= cutoff


def find_matches(people: Sequence[Person], *, stored_ids: Iterable[str] = ()) -> Matches:
    """Likely duplicates of `people` (the records of one save, not yet written; `stored_ids`:
    those of them already stored) among the stored live workers and among themselves. Two
    queries on PostgreSQL whatever the number of people (the second only when a pair is found)."""
    people = [p for p in people if p.id] if settings.DQ_FINDER else []
    matches = Matches(unsaved={p.id for p in people} - set(stored_ids))
    if not people:
        return matches
    threshold = settings.DQ_THRESHOLD
    probes = [probe_of(p) for p in people]
    matches.probes = {p.person.id: p for p in probes}
    in_request = {p.id for p in people}
    stored, candidates = _stored_candidates(probes, exclude=in_request, matches=matches)

    def consider(a: Person, b: Person) -> None:
        result = score_pair(a, b)
        if result.score >= threshold:
            matches.pairs.setdefault(a.id, {})[b.id] = result
            if b.id in in_request:
                matches.pairs.setdefault(b.id, {})[a.id] = result

    for probe in probes:
        for other_id in stored.get(probe.person.id, ()):
            other = candidates.get(other_id)
            if other is not None:
                consider(probe.person, other)
    # The request's records with each other, blocked by the same keys.
    blocks: dict[object, list[Person]] = defaultdict(list)
    for probe in probes:
        for key in probe.keys:
            blocks[key].append(probe.person)
        for date in probe.dates:  # its own date and the swapped one: both meet a swapped record
            blocks[date].append(probe.person)
    seen: set[tuple[str, str]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > settings.DQ_MAX_CANDIDATES:
            continue
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pair = _ordered(a.id, b.id)
                if a.id != b.id and pair not in seen:
                    seen.add(pair)
                    consider(a, b)
    involved = [(rid, other) for rid, others in matches.pairs.items() for other in others]
    if involved:
        ids = {i for pair in involved for i in pair}
        matches.dismissed = {
            (a, b)
            for a, b in DuplicatePair.objects.filter(
                Q(a_id__any=ids) & Q(b_id__any=ids), status=DuplicateStatus.DISMISSED
            ).values_list("a_id", "b_id")
        }
    return matches


def forget_matches(worker_ids: Iterable[str]) -> None:
    """Removes the match rows of workers that became tombstones (deleted or merged away): the
    finder no longer offers them as candidates (its query skips deleted workers anyway)."""
    MatchName.objects.filter(worker_id__any=set(worker_ids)).delete()


def store_matches(workers: Iterable[Worker], matches: Matches, *, created: Iterable[str] = ()) -> None:
    """Rewrites the match rows of saved `workers` and upserts their pairs (same transaction as
    the save). A dismissed or merged pair keeps its status; an open pair of these workers that
    was not found again is removed."""
    rows = list(workers)
    if not rows or not settings.DQ_FINDER:
        return
    ids = {w.id for w in rows}
    refused = matches.unsaved - ids  # records of the request that were not written: no row to pair
    rewritten = ids - set(created)  # rows created by this save have no keys or pairs yet
    if rewritten:
        MatchName.objects.filter(worker_id__any=rewritten).delete()
    probes = []
    for worker in rows:
        if worker.deleted_at is None:
            person = person_of(worker)
            known = matches.probes.get(worker.id)
            # The probe made while finding, unless the row differs from what was searched for.
            probes.append(known if known is not None and known.person == person else probe_of(person))
    insert_rows(
        MatchName,
        ("worker_id", "name_key", "birth_date", *MATCH_KEY_FIELDS),
        [(p.person.id, p.name, p.person.birth_date, *p.key_columns) for p in probes],
    )

    now = timezone.now()
    pairs: dict[tuple[str, str], PairScore] = {}
    for record_id in ids:
        for other_id, result in matches.of(record_id).items():
            if other_id not in refused:
                pairs[_ordered(record_id, other_id)] = result
    open_pairs = DuplicatePair.objects.filter(
        Q(a_id__any=rewritten) | Q(b_id__any=rewritten), status=DuplicateStatus.OPEN
    )
    stale = (
        [pk for pk, a, b in open_pairs.values_list("pk", "a_id", "b_id") if (a, b) not in pairs] if rewritten else []
    )
    if stale:
        DuplicatePair.objects.filter(pk__any=set(stale)).delete()
    if pairs:
        DuplicatePair.objects.bulk_create(
            [
                DuplicatePair(a_id=a, b_id=b, score=r.score, reasons=list(r.reasons), found_at=now, updated_at=now)
                for (a, b), r in sorted(pairs.items())
            ],
            update_conflicts=True,
            unique_fields=["a", "b"],
            update_fields=["score", "reasons", "updated_at"],
        )
