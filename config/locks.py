"""Transaction-scoped locks on arbitrary keys (client ids, NIKs) that may not exist as rows yet.

Two devices can push the same new record, or two villages the same NIK, at the same moment;
SELECT … FOR UPDATE cannot lock a row that does not exist. PostgreSQL advisory locks can: each
writer locks the keys it is about to write, in one sorted order (so two writers never deadlock),
and the locks end with the transaction. SQLite (the embedded mode) already serialises writers
(transaction_mode IMMEDIATE), so there this is a no-op.

Keys are not locked one by one: each key falls into one of `LOCK_BUCKETS` buckets of its
namespace (a stable hash), and the bucket is what is locked. Two writers of the same key still
exclude each other (same bucket); two writers of different keys sometimes wait for each other
(a shared bucket), which costs a little concurrency and nothing else. In exchange a transaction
holds at most `LOCK_BUCKETS` advisory locks per namespace, however many records it writes: a
1,000-record bulk takes at most 2 x 16 (worker + nik, or enrolment + enrolled-worker), plus 16
per namespace a worker's move touches. One lock per key took 2,000 for such a bulk, and eight
concurrent bulks ran PostgreSQL's shared lock table (max_locks_per_transaction x connections)
out of memory. docs/hard.md has the bound and the PostgreSQL settings.

Across namespaces, one order too: `worker`, `nik`, `enrolment`, `enrolled-worker` (a registration
saves the worker, then the enrolment; a status move locks the enrolment's worker, then the
enrolment). A transaction that took a later namespace must not then wait for an earlier one.
Within one call the buckets are taken in ascending order; a second call on a namespace already
locked only re-takes buckets it holds or takes them in that call's order, so a transaction locks
everything of one namespace in one call where it can.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.db import connection

# pg_advisory_xact_lock(classid, objid): the class names the namespace, the object its bucket.
# The classes sit in a block of their own (0x4C4B____, "LK"), far from the 64-bit hashtextextended
# ids other callers use, so they never collide and pg_locks shows them apart (objsubid = 2).
_CLASS_BASE = 0x4C4B0000


def bucket_of(key: str, buckets: int | None = None) -> int:
    """The bucket of `key` (stable across processes and releases: not Python's hash())."""
    count = buckets or settings.LOCK_BUCKETS
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big") % count


def namespace_class(namespace: str) -> int:
    """The 32-bit class id of a namespace (pg_locks.classid), from a stable hash of its name."""
    digest = hashlib.blake2b(namespace.encode(), digest_size=2).digest()
    return _CLASS_BASE | int.from_bytes(digest, "big")


def lock_keys(namespace: str, keys: Iterable[str]) -> None:
    """Blocks until this transaction holds the lock of every `namespace:key`. Call inside atomic()."""
    if connection.vendor != "postgresql":
        return
    buckets = sorted({bucket_of(key) for key in keys if key})
    if not buckets:
        return
    with connection.cursor() as cursor:
        # One statement, the buckets in ascending order: every writer takes overlapping locks
        # in one order.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, b) FROM (SELECT b FROM unnest(%s::int[]) AS b ORDER BY b) AS t",
            [namespace_class(namespace), "{" + ",".join(map(str, buckets)) + "}"],
        )
