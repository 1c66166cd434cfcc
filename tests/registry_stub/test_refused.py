"""Refused requests: bad credentials and malformed batches answer 4xx and leave no trace."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from registry_stub.app import Request
from registry_stub.server import RunningStub
from tests.registry_stub.helpers import API_KEY, PARTNER_ID, batch, record, submit


def assert_nothing_registered(control: httpx.Client) -> None:
    stats = control.get("/stats").json()
    assert stats["participations"] == 0
    assert stats["batches"] == {"processed": 0, "replayed": 0, "conflicts": 0}
    assert stats["records"] == {"accepted": 0, "duplicate": 0, "rejected": 0}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        pytest.param({}, 401, "unauthenticated", id="no-credentials"),
        pytest.param(
            {"Authorization": "Bearer wrong-key", "X-Partner-Id": PARTNER_ID}, 401, "unauthenticated", id="wrong-key"
        ),
        pytest.param(
            {"Authorization": f"Basic {API_KEY}", "X-Partner-Id": PARTNER_ID}, 401, "unauthenticated", id="not-bearer"
        ),
        pytest.param({"Authorization": f"Bearer {API_KEY}"}, 403, "partner_not_allowed", id="no-partner"),
        pytest.param(
            {"Authorization": f"Bearer {API_KEY}", "X-Partner-Id": "other"},
            403,
            "partner_not_allowed",
            id="wrong-partner",
        ),
    ],
)
def test_bad_credentials_are_refused_on_every_endpoint_and_leave_no_trace(
    stub: RunningStub, control, headers, status, code
):
    with httpx.Client(base_url=stub.url, headers=headers, timeout=10) as client:
        answers = [
            submit(client, batch("batch-1", [record(1)])),
            client.get("/v1/batches/batch-1"),
            client.get("/v1/participants/changes"),
        ]

    for response in answers:
        assert response.status_code == status
        assert response.json()["error"]["code"] == code
        if status == 401:
            assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_nothing_registered(control)
    assert control.get("/stats").json()["requests"] == {
        "POST /v1/batches": {str(status): 1},
        "GET /v1/batches/{batch_id}": {str(status): 1},
        "GET /v1/participants/changes": {str(status): 1},
    }


def _body(data: Any) -> bytes:
    return json.dumps(data).encode()


def _without(field: str) -> dict[str, Any]:
    body = batch("batch-1", [record(1)])
    del body[field]
    return body


def _record_with(**fields: Any) -> bytes:
    return _body(batch("batch-1", [record(1), record(2, **fields)]))


def _record_without(field: str) -> bytes:
    body = batch("batch-1", [record(1), record(2)])
    del body["records"][1][field]
    return _body(body)


# id → (body, Idempotency-Key, error code, details)
MALFORMED: dict[str, tuple[bytes, str | None, str, dict[str, Any]]] = {
    "not-json": (b'{"batch_id": "batch-1", ', "batch-1", "invalid_json", {}),
    "not-an-object": (_body([record(1)]), "batch-1", "invalid_batch", {}),
    "no-batch-id": (_body(_without("batch_id")), "batch-1", "invalid_batch", {"field": "batch_id"}),
    "no-submitted-at": (_body(_without("submitted_at")), "batch-1", "invalid_batch", {"field": "submitted_at"}),
    "no-records": (_body(_without("records")), "batch-1", "invalid_batch", {"field": "records"}),
    "records-not-a-list": (
        _body({**batch("batch-1", []), "records": {}}),
        "batch-1",
        "invalid_batch",
        {"field": "records"},
    ),
    "empty": (_body(batch("batch-1", [])), "batch-1", "records_empty", {}),
    "1001-records": (_body(batch("batch-1", [record(n) for n in range(1001)])), "batch-1", "too_many_records", {}),
    "over-5-MB": (
        _body({**batch("batch-1", [record(1)]), "padding": "x" * (5 * 1024 * 1024)}),
        "batch-1",
        "batch_too_large",
        {},
    ),
    "no-idempotency-key": (_body(batch("batch-1", [record(1)])), None, "idempotency_key_missing", {}),
    "key-is-not-the-batch-id": (
        _body(batch("batch-1", [record(1)])),
        "batch-2",
        "idempotency_key_mismatch",
        {"idempotency_key": "batch-2", "batch_id": "batch-1"},
    ),
    "record-without-full-name": (
        _record_without("full_name"),
        "batch-1",
        "invalid_record",
        {"index": 1, "field": "full_name"},
    ),
    "record-without-ref": (_record_without("ref"), "batch-1", "invalid_record", {"index": 1, "field": "ref"}),
    "nik-as-a-number": (_record_with(nik=1704014101900001), "batch-1", "invalid_record", {"index": 1, "field": "nik"}),
    "unknown-sex": (_record_with(sex="X"), "batch-1", "invalid_record", {"index": 1, "field": "sex"}),
    "bad-birth-date": (
        _record_with(birth_date="01-01-1990"),
        "batch-1",
        "invalid_record",
        {"index": 1, "field": "birth_date"},
    ),
    "negative-income": (
        _record_with(monthly_income=-1),
        "batch-1",
        "invalid_record",
        {"index": 1, "field": "monthly_income"},
    ),
    "no-programs": (_record_with(programs=[]), "batch-1", "invalid_record", {"index": 1, "field": "programs"}),
}


@pytest.mark.parametrize(("body", "key", "code", "details"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_batch_is_400_and_creates_nothing(registry, control, body, key, code, details):
    headers = {"Content-Type": "application/json"} | ({"Idempotency-Key": key} if key else {})

    response = registry.post("/v1/batches", content=body, headers=headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["details"] == details
    assert_nothing_registered(control)
    assert registry.get("/v1/batches/batch-1").status_code == 404
    # The refused key was not kept: the corrected batch goes through under it.
    assert submit(registry, batch("batch-1", [record(1)])).status_code == 200


def test_a_record_without_a_phone_is_accepted(registry):
    response = submit(registry, batch("batch-1", [record(1, phone=None)]))

    assert response.status_code == 200
    assert response.json()["results"][0]["outcome"] == "accepted"


def test_an_unknown_batch_and_an_unknown_path_are_404(registry):
    unknown_batch = registry.get("/v1/batches/never-sent")
    unknown_path = registry.get("/v1/nothing-here")

    assert unknown_batch.status_code == 404
    assert unknown_batch.json()["error"] == {
        "code": "batch_not_found",
        "message": "No batch with this batch_id.",
        "details": {"batch_id": "never-sent"},
    }
    assert unknown_path.status_code == 404
    assert unknown_path.json()["error"]["code"] == "not_found"


def test_a_chunked_body_is_refused(registry, control):
    response = registry.post(
        "/v1/batches",
        content=iter([_body(batch("batch-1", [record(1)]))]),  # an iterator: httpx sends it chunked
        headers={"Idempotency-Key": "batch-1", "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "length_required"
    assert_nothing_registered(control)


def test_the_control_api_answers_loopback_clients_only(stub: RunningStub):
    # A real non-loopback client needs a second machine; the address check is what matters.
    request = Request("GET", "/_stub/stats", {}, {}, b"", client_host="192.0.2.10")

    response = stub.app.handle(request)

    assert response.status == 403
    assert json.loads(response.body)["error"]["code"] == "loopback_only"
    assert stub.app.handle(Request("GET", "/_stub/stats", {}, {}, b"", client_host="127.0.0.1")).status == 200
    assert stub.app.handle(Request("GET", "/_stub/stats", {}, {}, b"", client_host="::1")).status == 200


def test_a_bug_in_the_stub_is_a_500_not_a_dropped_connection(stub: RunningStub, registry, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(stub.store, "poll_batch", broken)

    response = registry.get("/v1/batches/batch-1")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "stub_internal_error"
