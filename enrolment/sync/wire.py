"""The sync wire format: flat records, as WatermelonDB stores them (API.md, "Offline sync").

WatermelonDB columns are strings, numbers and booleans only, so nested REST fields travel flat:
`address` as `address_street`/`address_dusun`/`address_rt`/`address_rw`, `consent` as
`consent_given_at`/`consent_method`/`consent_recorded_by`/`consent_purpose`/
`consent_notice_version`, and lists or objects (heirs, programs,
warnings, errors) as JSON-encoded strings. Every other column keeps its REST name. Dates are
`YYYY-MM-DD` strings, `consent_given_at` and `synced_at` ISO 8601 strings, `created_at` and
`updated_at` milliseconds since the epoch (WatermelonDB's own convention for those two columns).
Empty text is "", a missing date or number null.

Changing a column is a change to installed apps: add columns, never rename or retype them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from config.formats import iso_datetime, iso_month
from config.parsers import unstorable_reason
from villages.audit import mask_nik
from workers.models import Worker

SCHEMA_VERSION = 1  # the app schema this format describes; a newer app still pulls this one

# Model attribute names to read for each table (`.values()`), besides what the wire needs to
# sort a row into created/updated/deleted.
WORKER_SOURCE = (
    "id", "village_id", "nik", "nik_status", "nik_status_reason", "kk_number", "full_name", "birth_date", "birth_place", "sex", "phone",
    "address_street", "address_dusun", "address_rt", "address_rw", "occupation_id", "kusuka_number",
    "monthly_income", "mother_maiden_name", "heirs", "consent_given_at", "consent_method", "consent_recorded_by",
    "consent_purpose", "consent_notice_version", "warnings", "needs_correction", "errors", "version", "created_at", "updated_at",
)  # fmt: skip
ENROLMENT_SOURCE = (
    "id", "worker_id", "village_id", "segment", "programs", "funding_source_id", "budget_year", "funding_decree",
    "coverage_start", "payment_period_months", "monthly_contribution", "annual_contribution", "status",
    "status_reason", "registry_number", "registry_status", "synced_at", "warnings", "needs_correction", "errors",
    "version", "created_at", "updated_at", "allocation_id", "paid_through", "renews", "allocation__period_end",
    "renewed_by__id",
)  # fmt: skip
ROW_STATE = ("deleted_at", "sync_created_txid", "created_on_device")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _millis(value: dt.datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def worker_record(row: Mapping[str, Any], *, full_nik: bool) -> dict[str, Any]:
    """A worker row (`.values(*WORKER_SOURCE)`) as a sync record."""
    show: Callable[[str], str] = (lambda value: value) if full_nik else mask_nik
    return {
        "id": row["id"],
        "village": row["village_id"],
        "nik": show(row["nik"]),
        "nik_status": row["nik_status"],  # server-owned: a push never sets it (worker_input)
        "nik_status_reason": row["nik_status_reason"],
        "kk_number": show(row["kk_number"]),
        "full_name": row["full_name"],
        "birth_date": _day(row["birth_date"]),
        "birth_place": row["birth_place"],
        "sex": row["sex"],
        "phone": row["phone"],
        "address_street": row["address_street"],
        "address_dusun": row["address_dusun"],
        "address_rt": row["address_rt"],
        "address_rw": row["address_rw"],
        "occupation": row["occupation_id"] or "",
        "kusuka_number": row["kusuka_number"],
        "monthly_income": row["monthly_income"],
        "mother_maiden_name": row["mother_maiden_name"],
        "heirs": _json([{**heir, "nik": show(heir.get("nik") or "")} for heir in row["heirs"] or []]),
        "consent_given_at": iso_datetime(row["consent_given_at"]),
        "consent_method": row["consent_method"],
        "consent_recorded_by": row["consent_recorded_by"],
        "consent_purpose": row["consent_purpose"],
        "consent_notice_version": row["consent_notice_version"],
        "warnings": _json(row["warnings"] or []),
        "needs_correction": row["needs_correction"],
        "errors": _json(row["errors"] or {}),
        "version": row["version"],
        "created_at": _millis(row["created_at"]),
        "updated_at": _millis(row["updated_at"]),
    }


def cover_ends(coverage_start: dt.date | None, decree_end: dt.date | None) -> dt.date | None:
    """The last day of cover: of the decree's last month, or of the eleventh month after the start."""
    if decree_end is not None:
        last = decree_end
    elif coverage_start is not None:
        index = coverage_start.year * 12 + coverage_start.month - 1 + 11
        last = dt.date(index // 12, index % 12 + 1, 1)
    else:
        return None
    following = last.year * 12 + last.month
    return dt.date(following // 12, following % 12 + 1, 1) - dt.timedelta(days=1)


def enrolment_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """An enrolment row (`.values(*ENROLMENT_SOURCE)`) as a sync record."""
    return {
        "id": row["id"],
        "worker": row["worker_id"],
        "village": row["village_id"],
        "segment": row["segment"],
        "programs": _json(row["programs"] or []),
        "funding_source": row["funding_source_id"] or "",
        "budget_year": row["budget_year"],
        "funding_decree": row["funding_decree"],
        "coverage_start": _day(row["coverage_start"]),
        "payment_period_months": row["payment_period_months"],
        "monthly_contribution": row["monthly_contribution"],
        "annual_contribution": row["annual_contribution"],
        "status": row["status"],
        "status_reason": row["status_reason"],
        "registry_number": row["registry_number"],
        "registry_status": row["registry_status"],
        "synced_at": iso_datetime(row["synced_at"]),
        # The budget year (enrolment/funding): the decree, the last month paid, and when the cover
        # ends unless renewed, so the app can show cover about to end (`renewed`: next year's exists).
        "allocation": row["allocation_id"] or "",
        "paid_through": iso_month(row["paid_through"]) or "",
        "renews": row["renews"],
        "cover_ends": _day(cover_ends(row["coverage_start"], row["allocation__period_end"])),
        "renewed": row["renewed_by__id"] is not None,
        "warnings": _json(row["warnings"] or []),
        "needs_correction": row["needs_correction"],
        "errors": _json(row["errors"] or {}),
        "version": row["version"],
        "created_at": _millis(row["created_at"]),
        "updated_at": _millis(row["updated_at"]),
    }


# --- pushed records → the input the REST endpoints take ------------------------------------------


JSON_COLUMNS = ("heirs", "programs", "warnings", "errors")


def _decoded(value: Any) -> Any:
    """A JSON-encoded column; a value that is not valid JSON is passed on as is, so cleaning
    reports it as a field error (and the record is kept flagged) instead of the push failing.
    So is JSON nested deeper than JSON_MAX_DEPTH or holding text no database can store (NUL, a
    lone surrogate); the push refuses columns longer than SYNC_MAX_JSON_COLUMN_CHARS up front."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value) if value.strip() else []
        except (ValueError, RecursionError):
            return value
        return value if unstorable_reason(decoded, nul=True) is not None else decoded
    return value


def _unmasked(pushed: Any, stored: str) -> Any:
    """A device that was sent a masked NIK (a supervisor's, or one outside the officer's
    village) and pushes the record back must not overwrite the real NIK with the mask."""
    if stored and isinstance(pushed, str) and pushed == mask_nik(stored):
        return stored
    return pushed


def worker_input(raw: Mapping[str, Any], stored: Worker | None, stored_input: dict[str, Any] | None) -> dict[str, Any]:
    """A pushed worker in the shape `clean_worker` takes. Columns absent from the record keep
    their stored values (a client may send only some); server-owned columns are not read."""
    data: dict[str, Any] = dict(stored_input) if stored_input is not None else {}
    data["id"] = raw.get("id")
    for name in ("village", "nik", "kk_number", "full_name", "birth_date", "birth_place", "sex", "phone",
                 "occupation", "kusuka_number", "monthly_income", "mother_maiden_name"):  # fmt: skip
        if name in raw:
            data[name] = raw[name]
    address = dict(data.get("address") or {})
    for part in ("street", "dusun", "rt", "rw"):
        if f"address_{part}" in raw:
            address[part] = raw[f"address_{part}"]
    data["address"] = address
    if "heirs" in raw:
        data["heirs"] = _decoded(raw["heirs"])
    consent = dict(data.get("consent") or {})
    for part in ("given_at", "method", "recorded_by", "purpose", "notice_version"):
        if f"consent_{part}" in raw:
            consent[part] = raw[f"consent_{part}"]
    data["consent"] = consent if consent.get("given_at") not in (None, "") else None
    if stored is not None:
        data["nik"] = _unmasked(data.get("nik"), stored.nik)
        data["kk_number"] = _unmasked(data.get("kk_number"), stored.kk_number)
        if isinstance(data.get("heirs"), list):
            stored_heirs = stored.heirs or []
            data["heirs"] = [
                {**heir, "nik": _unmasked(heir.get("nik"), stored_heirs[i].get("nik") or "")}
                if isinstance(heir, dict) and i < len(stored_heirs) and isinstance(stored_heirs[i], dict)
                else heir
                for i, heir in enumerate(data["heirs"])
            ]
    return data


def enrolment_input(raw: Mapping[str, Any], stored_input: dict[str, Any] | None) -> dict[str, Any]:
    """A pushed enrolment in the shape `clean_enrolment` takes (status read with
    `ignore_status`: only draft or submitted mean anything coming from a device)."""
    data: dict[str, Any] = dict(stored_input) if stored_input is not None else {}
    data["id"] = raw.get("id")
    for name in ("worker", "segment", "funding_source", "budget_year", "funding_decree", "coverage_start",
                 "payment_period_months", "status"):  # fmt: skip
        if name in raw:
            data[name] = raw[name]
    if "programs" in raw:
        data["programs"] = _decoded(raw["programs"])
    return data
