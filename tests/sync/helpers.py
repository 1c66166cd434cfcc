"""Sync records as a WatermelonDB app sends them (flat columns, JSON strings)."""

from __future__ import annotations

import json
from typing import Any

from tests.factories import worker_payload


def flat_worker(**overrides: Any) -> dict[str, Any]:
    """A valid pushed worker of Gedung Wani, with WatermelonDB's bookkeeping keys."""
    body = worker_payload(**{k: v for k, v in overrides.items() if k in ("birth_date", "sex")})
    record: dict[str, Any] = {
        "id": body["id"],
        "village": body["village"],
        "nik": body["nik"],
        "kk_number": "",
        "full_name": body["full_name"],
        "birth_date": body["birth_date"],
        "birth_place": body["birth_place"],
        "sex": body["sex"],
        "phone": body["phone"],
        "address_street": body["address"]["street"],
        "address_dusun": body["address"]["dusun"],
        "address_rt": body["address"]["rt"],
        "address_rw": body["address"]["rw"],
        "occupation": body["occupation"],
        "kusuka_number": "",
        "monthly_income": body["monthly_income"],
        "mother_maiden_name": body["mother_maiden_name"],
        "heirs": json.dumps(body["heirs"]),
        "consent_given_at": body["consent"]["given_at"],
        "consent_method": body["consent"]["method"],
        "consent_recorded_by": body["consent"]["recorded_by"],
        "_status": "created",
        "_changed": "",
    }
    record.update({k: v for k, v in overrides.items() if k not in ("birth_date", "sex")})
    return record


def flat_enrolment(worker_id: str, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": f"e-{worker_id}",
        "worker": worker_id,
        "segment": "BPU",
        "programs": '["JKK","JKM"]',
        "funding_source": "apbd_kabupaten",
        "budget_year": 2026,
        "funding_decree": "",
        "coverage_start": "2026-12-01",
        "payment_period_months": 1,
        "status": "draft",
        "_status": "created",
        "_changed": "",
    }
    record.update(overrides)
    return record


def changes(workers: dict[str, Any] | None = None, enrolments: dict[str, Any] | None = None) -> dict[str, Any]:
    empty = {"created": [], "updated": [], "deleted": []}
    return {"changes": {"workers": {**empty, **(workers or {})}, "enrolments": {**empty, **(enrolments or {})}}}
