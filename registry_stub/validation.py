"""Shape checks of a submitted batch: anything here is a 400 and creates nothing.

Business checks (NIK format, Dukcapil lookups, duplicates) are not here: they are answered per
record as `rejected` or `duplicate` by the store, because the registry answers them that way.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
from typing import Any

MAX_RECORDS = 1000
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_BATCH_ID_LENGTH = 200

# Field → kind. Every field of REGISTRY.md's example is required except `phone` (workers without
# a phone exist); unknown fields are ignored so the client may send more.
RECORD_FIELDS: dict[str, str] = {
    "ref": "text",
    "nik": "string",  # a string, but its format is a per-record rejection (nik_invalid)
    "full_name": "text",
    "birth_date": "date",
    "sex": "sex",
    "phone": "optional_string",
    "village_code": "text",
    "occupation": "text",
    "monthly_income": "amount",
    "segment": "text",
    "programs": "programs",
    "funding_source": "text",
    "coverage_start": "date",
    "monthly_contribution": "amount",
}


class BadRequest(Exception):
    """A malformed request; becomes `400 {"error": {"code", "message", "details"}}`."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


@dataclasses.dataclass(frozen=True)
class Batch:
    batch_id: str
    records: list[dict[str, Any]]
    # Fingerprint of the parsed body: the same JSON re-serialised (other key order, spacing) is
    # the same batch, so an honest resend is never mistaken for a conflicting one.
    fingerprint: str


def parse_batch(body: bytes, idempotency_key: str | None) -> Batch:
    """The batch in `body`, or BadRequest naming the first problem found."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest("batch_too_large", f"The body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted.")
    if not idempotency_key:
        raise BadRequest("idempotency_key_missing", "The Idempotency-Key header is required.")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest("invalid_json", f"The body is not JSON: {error}.") from error
    if not isinstance(data, dict):
        raise BadRequest("invalid_batch", "The body must be a JSON object.")
    batch_id = data.get("batch_id")
    if not isinstance(batch_id, str) or not batch_id or len(batch_id) > MAX_BATCH_ID_LENGTH:
        raise BadRequest("invalid_batch", "batch_id must be a non-empty string.", {"field": "batch_id"})
    if idempotency_key != batch_id:
        raise BadRequest(
            "idempotency_key_mismatch",
            "The Idempotency-Key header must equal batch_id.",
            {"idempotency_key": idempotency_key, "batch_id": batch_id},
        )
    if not _is_datetime(data.get("submitted_at")):
        raise BadRequest("invalid_batch", "submitted_at must be an ISO 8601 date-time.", {"field": "submitted_at"})
    records = data.get("records")
    if not isinstance(records, list):
        raise BadRequest("invalid_batch", "records must be a list.", {"field": "records"})
    if not records:
        raise BadRequest("records_empty", "A batch must hold at least one record.")
    if len(records) > MAX_RECORDS:
        raise BadRequest("too_many_records", f"A batch holds at most {MAX_RECORDS} records, got {len(records)}.")
    for index, record in enumerate(records):
        _check_record(index, record)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Batch(batch_id=batch_id, records=records, fingerprint=hashlib.sha256(canonical.encode()).hexdigest())


def _check_record(index: int, record: Any) -> None:
    if not isinstance(record, dict):
        raise BadRequest("invalid_record", f"records[{index}] must be an object.", {"index": index})
    for field, kind in RECORD_FIELDS.items():
        value = record.get(field)
        if value is None and kind != "optional_string":
            raise BadRequest(
                "invalid_record", f"records[{index}].{field} is required.", {"index": index, "field": field}
            )
        if not _CHECKS[kind](value):
            raise BadRequest(
                "invalid_record",
                f"records[{index}].{field} is not a valid {kind.replace('_', ' ')}.",
                {"index": index, "field": field},
            )


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_CHECKS = {
    "text": lambda value: isinstance(value, str) and bool(value.strip()),
    "string": lambda value: isinstance(value, str),
    "optional_string": lambda value: value is None or isinstance(value, str),
    "date": _is_date,
    "sex": lambda value: value in ("M", "F"),
    "amount": lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 0,
    "programs": lambda value: (
        isinstance(value, list) and bool(value) and all(isinstance(item, str) and item for item in value)
    ),
}
