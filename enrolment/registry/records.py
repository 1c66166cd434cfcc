"""What a batch looks like on the wire (REGISTRY.md): the records built from our rows, and the body.

The body is built once, when the batch is claimed, and stored byte for byte on the batch: every
send of a batch is then the same request.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import QuerySet

from config.formats import iso_date, iso_datetime
from enrolment.models import Enrolment

# REGISTRY.md: at most 1,000 records and 5 MB per batch (read as 5,000,000 bytes, the stricter).
MAX_BATCH_RECORDS = 1000
MAX_BATCH_BYTES = 5_000_000

# What a record is made of: the enrolment's columns and its worker's, read as plain values (no
# model instances: building 2,000 of them per batch would cost more than the query).
RECORD_VALUES = (
    "id", "status", "village_id", "segment", "programs", "funding_source_id", "coverage_start",
    "monthly_contribution", "worker__nik", "worker__full_name", "worker__birth_date", "worker__sex",
    "worker__phone", "worker__occupation_id", "worker__monthly_income", "renews",
)  # fmt: skip


def record_rows(enrolments: QuerySet[Enrolment]) -> QuerySet[Enrolment, dict[str, Any]]:
    return enrolments.values(*RECORD_VALUES)


def registry_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """One record (REGISTRY.md) from a row of `record_rows`. `ref` is our enrolment id; a
    renewal carries `renews`, the participant number it continues (REGISTRY.md, "Additions")."""
    record = {
        "ref": row["id"],
        "nik": row["worker__nik"],
        "full_name": row["worker__full_name"],
        "birth_date": iso_date(row["worker__birth_date"]),
        "sex": row["worker__sex"],
        "phone": row["worker__phone"] or None,
        "village_code": row["village_id"],
        "occupation": row["worker__occupation_id"],
        # None when the worker declared no income: the registry decides whether it takes that.
        "monthly_income": row["worker__monthly_income"],
        "segment": row["segment"],
        "programs": list(row["programs"]),
        "funding_source": row["funding_source_id"],
        "coverage_start": iso_date(row["coverage_start"]),
        "monthly_contribution": row["monthly_contribution"],
    }
    if row.get("renews"):
        record["renews"] = row["renews"]
    return record


def encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def batch_body(batch_id: uuid.UUID, submitted_at: dt.datetime, encoded_records: Sequence[str]) -> str:
    """The request body, from records already encoded (so their sizes are known)."""
    head = encode({"batch_id": str(batch_id), "submitted_at": iso_datetime(submitted_at)})
    return head[:-1] + ',"records":[' + ",".join(encoded_records) + "]}"


def fit_records(
    batch_id: uuid.UUID, submitted_at: dt.datetime, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[Mapping[str, Any]], str]:
    """The first rows whose records fit in one batch (MAX_BATCH_BYTES), and the body they make.
    1,000 records of the longest names are ~1 MB, so in practice all of them fit."""
    budget = MAX_BATCH_BYTES - len(batch_body(batch_id, submitted_at, []).encode())
    taken: list[Mapping[str, Any]] = []
    encoded: list[str] = []
    for row in rows[:MAX_BATCH_RECORDS]:
        record = encode(registry_record(row))
        size = len(record.encode()) + 1
        if size > budget:
            break
        budget -= size
        taken.append(row)
        encoded.append(record)
    return taken, batch_body(batch_id, submitted_at, encoded)
