"""Offline sync with field devices (WatermelonDB): `pull` sends a device what changed since its
cursor, `push` applies what it changed offline, `common` holds what both share. The entry points
are re-exported here (`services.sync_pull`, `services.sync_push`, `services.record_pending`)."""

from enrolment.sync.services.common import (
    MAX_PUSH_RECORDS,
    PULL_ROLES,
    PUSH_ROLES,
    TABLES,
    SyncConflict,
    TooManyRecords,
    record_pending,
)
from enrolment.sync.services.pull import TableChanges, sync_pull
from enrolment.sync.services.push import PushResult, PushSummary, parse_changes, sync_push

__all__ = [
    "MAX_PUSH_RECORDS",
    "PULL_ROLES",
    "PUSH_ROLES",
    "TABLES",
    "PushResult",
    "PushSummary",
    "SyncConflict",
    "TableChanges",
    "TooManyRecords",
    "parse_changes",
    "record_pending",
    "sync_pull",
    "sync_push",
]
