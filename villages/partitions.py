"""Monthly partitions of the tables that grow with every read: the audit log (a row per view,
list, export and sync) and the sync snapshots (a row per pull).

Both are PostgreSQL range-partitioned tables (villages migration 0004): one partition per
calendar month (UTC), named `<table>_pYYYYMM`, and `<table>_pold` for anything older than the
first month. `maintain_partitions` (beat, daily, on the maintenance queue) creates the months
ahead, so a write never finds its month missing, and applies the retention: a partition whose
whole month is older than the retention is detached, then dropped — a catalogue change, not a
DELETE of millions of rows (which the audit log's append-only trigger refuses anyway).
Retention 0 keeps everything.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    column: str
    retention_setting: str  # months kept whole; 0 keeps everything

    @property
    def retention_months(self) -> int:
        return int(getattr(settings, self.retention_setting))


PARTITIONED_TABLES = (
    PartitionedTable("villages_auditevent", "at", "AUDIT_RETENTION_MONTHS"),
    PartitionedTable("villages_syncsnapshot", "created_at", "SYNC_SNAPSHOT_PARTITION_RETENTION_MONTHS"),
)

_MONTHLY = re.compile(r"_p(\d{4})(\d{2})$")


@dataclass(frozen=True)
class MaintenanceReport:
    created: tuple[str, ...]
    dropped: tuple[str, ...]


def month_start(moment: dt.datetime) -> dt.date:
    moment = moment.astimezone(dt.UTC)
    return dt.date(moment.year, moment.month, 1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def partitions(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits JOIN pg_class parent ON parent.oid = inhparent"
            " JOIN pg_class child ON child.oid = inhrelid WHERE parent.relname = %s ORDER BY child.relname",
            [table],
        )
        return [name for (name,) in cursor.fetchall()]


def _bound(month: dt.date) -> str:
    return f"{month:%Y-%m-%d} 00:00:00+00"


def maintain_partitions(*, now: dt.datetime | None = None, ahead: int | None = None) -> MaintenanceReport:
    """Creates this month's and the next `ahead` months' partitions that are missing, and drops
    the ones past their table's retention. Idempotent; PostgreSQL only (the embedded SQLite mode
    has no partitions)."""
    if connection.vendor != "postgresql":
        return MaintenanceReport((), ())
    now = now or timezone.now()
    ahead = settings.PARTITIONS_AHEAD_MONTHS if ahead is None else ahead
    current = month_start(now)
    created: list[str] = []
    dropped: list[str] = []
    for spec in PARTITIONED_TABLES:
        existing = set(partitions(spec.table))
        for offset in range(ahead + 1):
            month = add_months(current, offset)
            name = f"{spec.table}_p{month:%Y%m}"
            if name not in existing:
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {spec.table} FOR VALUES FROM (%s) TO (%s)",
                        [_bound(month), _bound(add_months(month, 1))],
                    )
                created.append(name)
        if spec.retention_months > 0:
            oldest_kept = add_months(current, -spec.retention_months)
            for name in sorted(existing):
                match = _MONTHLY.search(name)
                if match:
                    expired = dt.date(int(match[1]), int(match[2]), 1) < oldest_kept
                else:  # the partition of everything before the first month
                    expired = name == f"{spec.table}_pold" and _first_month(existing, spec.table) <= oldest_kept
                if expired:
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(f"ALTER TABLE {spec.table} DETACH PARTITION {name}")
                        cursor.execute(f"DROP TABLE {name}")
                    dropped.append(name)
    if created or dropped:
        logger.info("partitions: created %s, dropped %s", created, dropped)
    return MaintenanceReport(tuple(created), tuple(dropped))


def _first_month(existing: set[str], table: str) -> dt.date:
    months = [dt.date(int(m[1]), int(m[2]), 1) for name in existing if (m := _MONTHLY.search(name))]
    return min(months) if months else dt.date.max
