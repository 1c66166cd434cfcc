"""The sync's bulk writes. On PostgreSQL the rows travel as one JSON document unpacked by
jsonb_to_recordset: writing 1,000 rows is one short statement with one parameter, where Django's
bulk_update builds a CASE per row and field and bulk_create quotes every value in Python
(docs/measurements.md).
Elsewhere (the embedded SQLite mode, small volumes) the ORM does the same writes.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import F

from config.bulk import concrete_field
from enrolment.models import Enrolment
from enrolment.registry.models import ItemOutcome, RegistryBatchItem


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _json(rows: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), default=str)


def insert_items(batch_id: uuid.UUID, rows: Sequence[tuple[str, str]]) -> None:
    """One pending item per (enrolment id, village code), positions in the order given."""
    if not _postgresql():
        RegistryBatchItem.objects.bulk_create(
            [
                RegistryBatchItem(batch_id=batch_id, enrolment_id=enrolment, village_id=village, position=position)
                for position, (enrolment, village) in enumerate(rows)
            ],
            batch_size=500,
        )
        return
    document = _json(
        [{"e": enrolment, "v": village, "p": position} for position, (enrolment, village) in enumerate(rows)]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RegistryBatchItem._meta.db_table}"  # noqa: S608 (our own table name)
            " (batch_id, enrolment_id, village_id, position, outcome, participant_number, reason_code, reason, error)"
            " SELECT %s, r.e, r.v, r.p, %s, '', '', '', '{}'::jsonb"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(e text, v text, p integer)",
            [batch_id, ItemOutcome.PENDING, document],
        )


def update_items(items: Sequence[RegistryBatchItem], applied_at: dt.datetime) -> None:
    """Writes each item's outcome, participant number and reason; clears its error."""
    if not items:
        return
    if not _postgresql():
        for item in items:
            item.applied_at, item.error = applied_at, {}
        RegistryBatchItem.objects.bulk_update(
            items, ["outcome", "participant_number", "reason_code", "reason", "error", "applied_at"], batch_size=100
        )
        return
    document = _json(
        [
            {"i": item.pk, "o": item.outcome, "n": item.participant_number, "c": item.reason_code, "r": item.reason}
            for item in items
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {RegistryBatchItem._meta.db_table} AS t SET outcome = r.o, participant_number = r.n,"  # noqa: S608
            " reason_code = r.c, reason = r.r, error = '{}'::jsonb, applied_at = %s"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(i bigint, o text, n text, c text, r text) WHERE t.id = r.i",
            [applied_at, document],
        )


def update_enrolments(values: Mapping[str, str], *, column: str, fixed: Mapping[str, Any], now: dt.datetime) -> None:
    """A status move made by the system on many enrolments: `fixed` values for all, one value per
    enrolment in `column` (the participant number, or the registry's reason), version + 1."""
    if not values:
        return
    common = {"status_changed_at": now, "updated_at": now, **fixed}
    if not _postgresql():
        for enrolment_id, value in values.items():
            Enrolment.objects.filter(id=enrolment_id).update(
                **common,
                status_changed_by=None,
                updated_by=None,
                version=F("version") + 1,
                **{column: value},
            )
        return
    columns = {name: concrete_field(Enrolment, name).column for name in [*common, column]}
    assignments = ", ".join(f"{columns[name]} = %s" for name in common)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Enrolment._meta.db_table} AS e SET {assignments}, {columns[column]} = r.v,"  # noqa: S608
            " status_changed_by_id = NULL, updated_by_id = NULL, version = e.version + 1"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(i text, v text) WHERE e.id = r.i",
            [*common.values(), _json([{"i": key, "v": value} for key, value in values.items()])],
        )
