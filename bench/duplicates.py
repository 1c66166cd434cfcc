"""Benchmark: the duplicate finder's quality on a labelled corpus, and its speed at 1,000,000 workers.

1. Quality. The labelled corpus of tests/dq_corpus.py (seeded: distinct people with households,
   twins and namesakes, plus duplicate variants of the perturbation kinds) is saved through the
   real save path (workers_save, as a sync push: invalid records kept flagged), in requests of
   250 records in a shuffled order, so pairs are found both against stored rows and within a
   request. The stored pairs (workers_duplicatepair) are compared with the labels: recall and
   precision at the configured DQ_THRESHOLD, and a sweep of thresholds (the run stores pairs
   from --store-from, 0.4, so that lower thresholds can be read from the same run).
2. Speed. The workers table is filled to --population people (COPY, with their match keys, as
   the finder would have written them), then the candidate search (`find_matches`: the queries
   and the scoring) is timed for --samples single records, half of them variants of stored
   people, half new people: p50, p95, max. Target: p95 <= 20 ms at 1,000,000.

Usage: .venv/bin/python bench/duplicates.py [--population 1000000] [--samples 1000]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench_dq), which it
drops and recreates. bench/bulk_ingest.py measures the finder's cost on bulk throughput.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_areas import recreate_database  # noqa: E402

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_bench_dq")


def quality(store_from: float) -> None:
    from django.conf import settings
    from django.db.models import Q

    from tests.dq_corpus import corpus
    from villages.audit import Actor
    from villages.models import Area, AreaLevel, Role, User
    from workers.models import DuplicatePair
    from workers.services import SaveMode, worker_refs, workers_save
    from workers.validation import clean_worker

    villages = list(
        Area.objects.filter(level=AreaLevel.VILLAGE, code__startswith="17.04.", active=True)
        .order_by("code")
        .values_list("code", flat=True)[:40]
    )
    data = corpus(villages, seed=14)
    user, _ = User.objects.get_or_create(username="bench-admin", defaults={"role": Role.ADMIN, "is_staff": True})
    configured = settings.DQ_THRESHOLD
    settings.DQ_THRESHOLD = store_from
    records = data.records
    random.Random(7).shuffle(records)
    started = time.perf_counter()
    for i in range(0, len(records), 250):
        chunk = records[i : i + 250]
        refs = worker_refs(user=user, records=chunk)
        workers_save(
            actor=Actor(user=user),
            records=[clean_worker(r, refs=refs) for r in chunk],
            mode=SaveMode.UPSERT,
            keep_invalid=True,
        )
    elapsed = time.perf_counter() - started
    settings.DQ_THRESHOLD = configured
    stored = {(a, b): score for a, b, score in DuplicatePair.objects.values_list("a_id", "b_id", "score")}
    truth = {tuple(sorted(pair)) for pair in data.true_pairs}
    print(
        f"corpus: {len(data.people):,} people ({data.hard.get('twins', 0)} twin pairs,"
        f" {data.hard.get('namesakes', 0)} namesakes of the 10 commonest names), {len(data.variants):,} duplicate"
        f" variants; saved in {elapsed:.1f} s ({len(records) / elapsed:,.0f} records/s)"
    )
    print(f"{'threshold':>9} {'recall':>7} {'precision':>9} {'pairs':>6} {'false+':>6}")
    for threshold in sorted({0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, configured}):
        flagged = {pair for pair, score in stored.items() if score >= threshold}
        hits = len(flagged & truth)
        recall, precision = hits / len(truth), hits / max(1, len(flagged))
        mark = "  <- DQ_THRESHOLD" if threshold == configured else ""
        print(f"{threshold:>9.2f} {recall:>7.3f} {precision:>9.3f} {len(flagged):>6} {len(flagged) - hits:>6}{mark}")
        if threshold == configured:
            final = (recall, precision)
    kinds: dict[str, list[int]] = {}
    for base, variant in data.true_pairs:
        found = stored.get(tuple(sorted((base, variant))), 0) >= configured
        for kind in data.kinds[variant]:
            kinds.setdefault(kind, [0, 0])[0 if found else 1] += 1
    print(
        "recall by perturbation kind: "
        + ", ".join(f"{k} {f / (f + m):.2f} ({f + m})" for k, (f, m) in sorted(kinds.items()))
    )
    print(f"target recall >= 0.95 at precision >= 0.90: {'met' if final[0] >= 0.95 and final[1] >= 0.90 else 'MISSED'}")
    DuplicatePair.objects.filter(Q(a__id__startswith="p-") | Q(a__id__startswith="d-")).delete()


def populate(count: int) -> list[dict]:
    """`count` people straight into the tables (COPY), with the match keys the finder writes."""
    from django.db import connection

    from tests.dq_corpus import FEMALE, MALE, SECOND, nik_for
    from villages.models import Area, AreaLevel
    from workers.duplicates.finder import person_of, probe_of
    from workers.models import MATCH_KEY_FIELDS

    rng = random.Random(1)
    villages = list(Area.objects.filter(level=AreaLevel.VILLAGE, active=True).values_list("code", flat=True))
    serials: dict[tuple[str, dt.date], int] = {}
    people: list[dict] = []
    now = dt.datetime.now(dt.UTC)
    worker_columns = (
        "id", "village_id", "nik", "kk_number", "full_name", "birth_date", "birth_place", "sex", "phone",
        "address_street", "address_dusun", "address_rt", "address_rw", "occupation_id", "kusuka_number",
        "mother_maiden_name", "heirs", "consent_recorded_by", "consent_method", "warnings",
        "needs_correction", "errors", "version", "request_hash", "created_at", "updated_at",
        "nik_bi", "kk_bi", "phone_bi",
    )  # fmt: skip
    # Personal data as the service stores it: tokens and blind indexes (config/pii.py).
    from config import pii

    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor().copy(f"COPY workers_worker ({', '.join(worker_columns)}) FROM STDIN") as copy:
            for i in range(count):
                sex = "M" if i % 2 else "F"
                first = rng.choice(MALE if sex == "M" else FEMALE)
                name = first if rng.random() < 0.25 else f"{first} {rng.choice(SECOND)}"
                born = dt.date(1961, 1, 1) + dt.timedelta(days=rng.randrange(17_000))
                village = rng.choice(villages)
                region = village[:8].replace(".", "")
                # Serials from 5000: the corpus above used the low ones.
                serial = serials[(region, born)] = serials.get((region, born), 5000) + 1
                person: dict[str, Any] = {
                    "id": f"pop-{i:07d}",
                    "village_id": village,
                    "nik": nik_for(region, born, sex, serial),
                    "kk_number": f"{region}{rng.randrange(10**9, 10**10)}",
                    "full_name": name,
                    "birth_date": born,
                    "sex": sex,
                    "phone": f"+628{rng.randrange(10**9, 10**10)}",
                    "mother_maiden_name": rng.choice(FEMALE),
                }
                people.append(person)
                copy.write_row(
                    (
                        person["id"], village, pii.encrypt(person["nik"]), pii.encrypt(person["kk_number"]), name,
                        born, "Bengkulu", sex, pii.encrypt(person["phone"]), "", "", "", "", "petani", "",
                        pii.encrypt(person["mother_maiden_name"]), pii.encrypt("[]"), "", "",
                        "[]", False, "{}", 1, "", now, now, pii.blind_index(person["nik"], purpose="nik"),
                        pii.blind_index(person["kk_number"], purpose="kk"),
                        pii.blind_index(person["phone"], purpose="phone"),
                    )
                )  # fmt: skip
        print(f"population: {count:,} workers copied in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        # The finder's one row per worker: name, birth date and exact keys, as store_matches writes it.
        columns = ("worker_id", "name_key", "birth_date", *MATCH_KEY_FIELDS)
        with raw.cursor().copy(f"COPY workers_matchname ({', '.join(columns)}) FROM STDIN") as copy:
            for person in people:
                probe = probe_of(person_of(person))
                copy.write_row((person["id"], probe.name, person["birth_date"], *probe.key_columns))
        cursor.execute("ANALYZE workers_worker")
        cursor.execute("ANALYZE workers_matchname")
        print(f"population: match keys copied in {time.perf_counter() - started:.0f} s")
    return people


def speed(people: list[dict], samples: int) -> None:
    from django.db import connection, transaction

    from tests.dq_corpus import NAME_PERTURBATIONS, p_date_swap, p_nik_typo
    from workers.duplicates.finder import find_matches, person_of

    rng = random.Random(2)
    probes = []
    for n in range(samples):
        if n % 2:
            base = dict(rng.choice(people))
            record = {**base, "id": f"probe-{n}", "birth_date": base["birth_date"].isoformat()}
            NAME_PERTURBATIONS[rng.choice(list(NAME_PERTURBATIONS))](rng, record)
            (p_nik_typo if rng.random() < 0.5 else p_date_swap)(rng, record)
            record["birth_date"] = dt.date.fromisoformat(record["birth_date"])
        else:
            record = {**rng.choice(people), "id": f"probe-{n}", "nik": "", "kk_number": "", "phone": ""}
            record["full_name"] = rng.choice(people)["full_name"]
        probes.append(person_of(record))
    timings = []
    found = 0
    with transaction.atomic():
        find_matches(probes[:20])  # warm the caches and connection
        for probe in probes:
            started = time.perf_counter()
            matches = find_matches([probe])
            timings.append((time.perf_counter() - started) * 1000)
            found += bool(matches.of(probe.id))
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM workers_worker")
        (total,) = cursor.fetchone()
    print(
        f"candidate search per record at {total:,} workers ({samples} records, half of them variants of stored"
        f" people): p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms;"
        f" {found} records had a likely duplicate"
    )
    print(f"target p95 <= 20 ms: {'met' if p95 <= 20 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--store-from", type=float, default=0.4)
    parser.add_argument("--reuse", action="store_true", help="Time the search on the database a previous run filled.")
    args = parser.parse_args()

    if not args.reuse:
        recreate_database(BENCH_URL)
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghij")
    # Bench-only keys (the test keys of scripts/test): the match keys are blind indexes.
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA=")
    os.environ.setdefault("BLIND_INDEX_KEY", "dGVzdC1vbmx5LWJsaW5kLWluZGV4LWtleS0wMTIzNDU=")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    if args.reuse:
        from workers.duplicates.finder import PERSON_FIELDS
        from workers.models import Worker

        stored = Worker.objects.filter(id__startswith="pop-").order_by("id").values(*PERSON_FIELDS)
        speed(list(stored[: args.population]), args.samples)
        return
    call_command("migrate", verbosity=0)
    call_command("load_areas", province="17", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    quality(args.store_from)
    if args.population:
        speed(populate(args.population), args.samples)


if __name__ == "__main__":
    main()
