"""Writes of the reports: folding the running counts (see enrolment/reports/models.py)."""

from __future__ import annotations

from django.db import connection, transaction

_FOLD = {
    "enrolment_coverage_enrolment": (
        "village, budget_year, status, funding_source",
        "sum(n), sum(monthly), sum(annual)",
        "sum(n) <> 0 OR sum(monthly) <> 0 OR sum(annual) <> 0",
        "n, monthly, annual",
    ),
    "enrolment_coverage_worker": ("village, occupation, needs_correction", "sum(n)", "sum(n) <> 0", "n"),
    "enrolment_coverage_enrolment_province": (
        "province, budget_year, status, funding_source",
        "sum(n), sum(monthly), sum(annual)",
        "sum(n) <> 0 OR sum(monthly) <> 0 OR sum(annual) <> 0",
        "n, monthly, annual",
    ),
    "enrolment_coverage_worker_province": ("province, occupation, needs_correction", "sum(n)", "sum(n) <> 0", "n"),
}


def coverage_compact() -> dict[str, tuple[int, int]]:
    """Folds the appended count changes into one row per group; returns {table: (before, after)}.

    Safe at any time: the rows it reads are deleted and re-inserted summed in one statement, so a
    report sees the same totals before, during and after; writers keep appending meanwhile (their
    new rows are not in this statement's snapshot and stay as they are). Runs alone (a
    transaction advisory lock); a second caller returns at once. PostgreSQL only (elsewhere the
    report reads the tables and there is nothing to fold).
    """
    if connection.vendor != "postgresql":
        return {}
    folded: dict[str, tuple[int, int]] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended('coverage-compact', 0))")
        if not cursor.fetchone()[0]:
            return {}
        for table, (keys, sums, keep, values) in _FOLD.items():
            cursor.execute(
                f"WITH moved AS (DELETE FROM {table} RETURNING {keys}, {values})"  # noqa: S608 - fixed names
                f" INSERT INTO {table} ({keys}, {values})"
                f" SELECT {keys}, {sums} FROM moved GROUP BY {keys} HAVING {keep}"
            )
            after = cursor.rowcount
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            folded[table] = (after, cursor.fetchone()[0])
    return folded
