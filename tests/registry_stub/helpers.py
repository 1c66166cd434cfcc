"""Building batches the way REGISTRY.md shows them, and sending them to a stub."""

from __future__ import annotations

from typing import Any

import httpx

API_KEY = "test-registry-key"
PARTNER_ID = "desa-test"
AUTH = {"Authorization": f"Bearer {API_KEY}", "X-Partner-Id": PARTNER_ID}


def nik(n: int) -> str:
    """A well-formed 16-digit NIK (Kaur, Bengkulu) unique per n."""
    return f"17040141{n:08d}"


def record(n: int, **overrides: Any) -> dict[str, Any]:
    return {
        "ref": f"enrolment-{n}",
        "nik": nik(n),
        "full_name": f"Siti {n}",
        "birth_date": "1990-01-01",
        "sex": "F",
        "phone": "+6281234567890",
        "village_code": "17.04.01.2001",
        "occupation": "nelayan",
        "monthly_income": 1500000,
        "segment": "BPU",
        "programs": ["JKK", "JKM"],
        "funding_source": "apbd_kabupaten",
        "coverage_start": "2026-12-01",
        "monthly_contribution": 16800,
        **overrides,
    }


def batch(batch_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"batch_id": batch_id, "submitted_at": "2026-11-21T23:00:00+07:00", "records": records}


def submit(client: httpx.Client, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return client.post("/v1/batches", json=body, headers={"Idempotency-Key": body["batch_id"]}, **kwargs)


def accepted(ref: str, number: str) -> dict[str, Any]:
    return {"ref": ref, "outcome": "accepted", "participant_number": number, "reason_code": None, "reason": None}


def numbers_of(response: httpx.Response) -> list[str]:
    return [result["participant_number"] for result in response.json()["results"]]


def held(control: httpx.Client) -> list[dict[str, Any]]:
    """What the registry holds, without the creation times."""
    rows = control.get("/participants").json()["participants"]
    return [{key: value for key, value in row.items() if key != "created_at"} for row in rows]
