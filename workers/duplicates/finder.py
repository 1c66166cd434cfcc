"""The candidate finder: likely duplicates of the records of one save, found set-wise.

Runs inside every worker save (REST create and PATCH, bulk, sync push, import: all of them go
through villages/upsert.py's `records_save`), in two steps of the workers table
(workers.services.WorkerTable):

1. `prepare` (before the records are decided): `find_matches` searches the stored workers for
   every record of the request with a constant number of queries, whatever their number, and
   compares the request's records with each other. Candidates share an exact key
   (keys.py: NIK, a NIK part, KK, phone; `workers_matchkey`, a btree on the key) or were born on
   the same date or its day/month swap with a similar normalised name (`workers_matchname`: the
   date's btree, pg_trgm's similarity() as the filter in SQL). Every key reads at most
   DQ_MAX_CANDIDATES rows: a key shared by more people (a village office's phone) says nothing.
   Candidates are scored in Python (scoring.py); pairs at DQ_THRESHOLD or above are matches.
2. `after_write` (the rows are written, same transaction): `store_matches` rewrites the saved
   workers' match keys and upserts their pairs; a pair already dismissed stays dismissed, an
   open pair no longer found (the record was corrected) is removed.
SQLite (the embedded pilot) has no pg_trgm: there the names are compared in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from config.bulk import insert_rows
from config.lookups import text_array
from workers.duplicates.keys import digest, kk_key, nik_keys, phone_key
from workers.duplicates.names import name_key
from workers.duplicates.scoring import PairScore, Person, name_similarity, score_pair, swapped
from workers.models import DuplicatePair, DuplicateStatus, MatchKey, MatchName, Worker

PERSON_FIELDS = (
    "id", "village_id", "nik", "kk_number", "phone", "full_name", "birth_date", "sex", "mother_maiden_name",
)  # fmt: skip


def person_of(worker: Worker | Mapping[str, object]) -> Person:
    get = worker.get if isinstance(worker, Mapping) else lambda name, default=None: getattr(worker, name, default)
    values = {name: get(name, None) for name in PERSON_FIELDS}
    return Person(
        id=str(values["id"] or ""),
        village_id=str(values["village_id"] or ""),
        nik=str(values["nik"] or ""),
        kk_number=str(values["kk_number"] or ""),
        phone=str(values["phone"] or ""),
        full_name=str(values["full_name"] or ""),
        birth_date=values["birth_date"] if isinstance(values["birth_date"], dt.date) else None,
        sex=str(values["sex"] or ""),
        mother_maiden_name=str(values["mother_maiden_name"] or ""),
    )


def _nik_parts(nik: str) -> list[str]:
    """Digests of the NIK and of the three pairs of its parts (region PPKKCC, date DDMMYY,
    serial SSSS): two NIKs one digit apart share at least one pair."""
    whole, *_ = nik_keys(nik)
    if not whole:
        return []
    region, date, serial = nik[:6], nik[6:12], nik[12:]
    return [
        whole,
        digest(region + date, purpose="nik-region-date"),
        digest(region + serial, purpose="nik-region-serial"),
        digest(date + serial, purpose="nik-date-serial"),
    ]


@dataclass(frozen=True)
class Probe:
    """What one record is searched by."""

    person: Person
    keys: tuple[str, ...]
    name: str
    dates: tuple[dt.date, ...]


def probe_of(person: Person) -> Probe:
    keys = [*_nik_parts(person.nik), kk_key(person.kk_number), phone_key(person.phone)]
    dates: tuple[dt.date, ...] = ()
    if person.birth_date is not None:
        other = swapped(person.birth_date)
        dates = (person.birth_date, other) if other else (person.birth_date,)
    return Probe(person=person, keys=tuple(k for k in keys if k), name=name_key(person.full_name), dates=dates)


@dataclass
class Matches:
    """Pairs found for a save: record id → {other worker id: score}."""

    pairs: dict[str, dict[str, PairScore]] = field(default_factory=dict)
    dismissed: set[tuple[str, str]] = field(default_factory=set)
    unsaved: set[str] = field(default_factory=set)  # the request's ids with no stored row yet

    def of(self, record_id: str) -> dict[str, PairScore]:
        return self.pairs.get(record_id, {})

    def flagged(self, record_id: str) -> bool:
        """A likely duplicate that nobody has dismissed."""
        return any(_ordered(record_id, other) not in self.dismissed for other in self.of(record_id))


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _stored_candidates(probes: Sequence[Probe]) -> dict[str, set[str]]:
    """Record id → ids of stored workers sharing a key or a birth date (+ similar name)."""
    found: dict[str, set[str]] = defaultdict(set)
    key_pairs = [(p.person.id, k) for p in probes for k in p.keys]
    date_triples = [(p.person.id, p.name, d) for p in probes if p.name for d in p.dates]
    limit = settings.DQ_MAX_CANDIDATES
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT q.rid, k.worker_id FROM unnest(%s::text[], %s::text[]) AS q(rid, key)"
                " CROSS JOIN LATERAL (SELECT worker_id FROM workers_matchkey k WHERE k.key = q.key LIMIT %s) k"
                " UNION"
                " SELECT n.rid, m.worker_id FROM unnest(%s::text[], %s::text[], %s::date[]) AS n(rid, name, born)"
                " CROSS JOIN LATERAL (SELECT worker_id FROM workers_matchname m"
                "   WHERE m.birth_date = n.born AND similarity(m.name_key, n.name) >= %s LIMIT %s) m",
                [
                    text_array(r for r, _ in key_pairs),
                    text_array(k for _, k in key_pairs),
                    limit,
                    text_array(r for r, _, _ in date_triples),
                    text_array(n for _, n, _ in date_triples),
                    text_array(d.isoformat() for _, _, d in date_triples),
                    settings.DQ_TRGM_MIN,
                    limit,
                ],
            )
            for rid, worker_id in cursor.fetchall():
                found[rid].add(worker_id)
        return found
    # SQLite: the same keys through the ORM; names compared here instead of by pg_trgm.
    by_key: dict[str, list[str]] = defaultdict(list)
    for key, worker_id in MatchKey.objects.filter(key__in={k for _, k in key_pairs}).values_list("key", "worker_id"):
        by_key[key].append(worker_id)
    for rid, key in key_pairs:
        found[rid].update(by_key[key][:limit])
    by_date: dict[dt.date, list[tuple[str, str]]] = defaultdict(list)
    for worker_id, stored_name, born in MatchName.objects.filter(
        birth_date__in={d for _, _, d in date_triples}
    ).values_list("worker_id", "name_key", "birth_date"):
        if born is not None:
            by_date[born].append((worker_id, stored_name))
    for rid, name, born in date_triples:
        probe = Person(id=rid, full_name=name)
        similar = [w for w, n in by_date[born] if name_similarity(probe, Person(id=w, full_name=n)) >= 0.5]
        found[rid].update(similar[:limit])
    return found


def find_matches(people: Sequence[Person], *, stored_ids: Iterable[str] = ()) -> Matches:
    """Likely duplicates of `people` (the records of one save, not yet written; `stored_ids`:
    those of them already stored) among the stored live workers and among themselves. Four
    queries whatever the number of people."""
    people = [p for p in people if p.id]
    matches = Matches(unsaved={p.id for p in people} - set(stored_ids))
    if not people:
        return matches
    threshold = settings.DQ_THRESHOLD
    probes = [probe_of(p) for p in people]
    in_request = {p.id for p in people}
    stored = _stored_candidates(probes)
    wanted = {w for ids in stored.values() for w in ids} - in_request
    candidates = {
        row["id"]: person_of(row)
        for row in Worker.objects.filter(id__any=wanted, deleted_at__isnull=True).values(*PERSON_FIELDS)
    }

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


def store_matches(workers: Iterable[Worker], matches: Matches) -> None:
    """Rewrites the match keys of saved `workers` and upserts their pairs (same transaction as
    the save). A dismissed or merged pair keeps its status; an open pair of these workers that
    was not found again is removed."""
    rows = list(workers)
    if not rows:
        return
    ids = {w.id for w in rows}
    refused = matches.unsaved - ids  # records of the request that were not written: no row to pair
    MatchKey.objects.filter(worker_id__any=ids).delete()
    MatchName.objects.filter(worker_id__any=ids).delete()
    probes = [probe_of(person_of(w)) for w in rows if w.deleted_at is None]
    insert_rows(
        MatchName, ("worker_id", "name_key", "birth_date"), [(p.person.id, p.name, p.person.birth_date) for p in probes]
    )
    insert_rows(MatchKey, ("key", "worker_id"), sorted({(k, p.person.id) for p in probes for k in p.keys}))

    now = timezone.now()
    pairs: dict[tuple[str, str], PairScore] = {}
    for record_id in ids:
        for other_id, result in matches.of(record_id).items():
            if other_id not in refused:
                pairs[_ordered(record_id, other_id)] = result
    open_pairs = DuplicatePair.objects.filter(Q(a_id__any=ids) | Q(b_id__any=ids), status=DuplicateStatus.OPEN)
    stale = [pk for pk, a, b in open_pairs.values_list("pk", "a_id", "b_id") if (a, b) not in pairs]
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
