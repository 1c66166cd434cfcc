"""Transaction-scoped locks on arbitrary keys (client ids, NIKs) that may not exist as rows yet.

Two devices can push the same new record, or two villages the same NIK, at the same moment;
SELECT … FOR UPDATE cannot lock a row that does not exist. PostgreSQL advisory locks can: each
writer locks the keys it is about to write, in one sorted order (so two writers never deadlock),
and the locks end with the transaction. SQLite (the embedded mode) already serialises writers
(transaction_mode IMMEDIATE), so there this is a no-op.

Across namespaces, one order too: `worker`, `nik`, `enrolment`, `enrolled-worker` (a registration
saves the worker, then the enrolment; a status move locks the enrolment's worker, then the
enrolment). A transaction that took a later namespace must not then wait for an earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from config.lookups import text_array


def lock_keys(namespace: str, keys: Iterable[str]) -> None:
    """Blocks until this transaction holds the lock of every `namespace:key`. Call inside atomic()."""
    if connection.vendor != "postgresql":
        return
    names = sorted({f"{namespace}:{key}" for key in keys if key})
    if not names:
        return
    with connection.cursor() as cursor:
        # Sorted by the 64-bit lock id itself: every writer takes overlapping locks in one order.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(h) FROM"
            " (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k ORDER BY h) AS keys",
            [text_array(names)],
        )
