"""The published schema describes what the server answers: every list is one cursor page."""

from __future__ import annotations

from typing import Any

from tests.conftest import GEDUNG_WANI, KAUR
from villages.models import Role

LISTS = {
    "/api/v1/areas",
    "/api/v1/areas/{code}/targets",
    "/api/v1/claims",
    "/api/v1/devices",
    "/api/v1/duplicates",
    "/api/v1/enrolments",
    "/api/v1/funding/allocations",
    "/api/v1/imports",
    "/api/v1/imports/{job_id}/rows",
    "/api/v1/registry/batches",
    "/api/v1/renewals/{job_id}/rows",
    "/api/v1/users",
    "/api/v1/verification/queue",
    "/api/v1/workers",
}


def _operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def _json_schema(response: dict[str, Any]) -> dict[str, Any]:
    return response.get("content", {}).get("application/json", {}).get("schema", {})


def _resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_list_operation_describes_the_cursor_envelope_and_its_parameters(openapi):
    pages = {}
    for path, method, operation in _operations(openapi):
        for status_code, response in operation["responses"].items():
            schema = _resolve(openapi, _json_schema(response))
            assert schema.get("type") != "array", f"{method.upper()} {path} {status_code} is a bare array"
        page = _resolve(openapi, _json_schema(operation["responses"].get("200", {})))
        if set(page.get("properties", {})) == {"next", "previous", "results"}:
            pages[path] = (method, page, {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"})

    assert set(pages) == LISTS
    for path, (method, page, query) in pages.items():
        assert method == "get", path
        assert page["required"] == ["next", "previous", "results"], path
        assert page["properties"]["next"] == page["properties"]["previous"]
        assert page["properties"]["next"]["nullable"] is True
        assert page["properties"]["results"]["type"] == "array"
        assert query["cursor"]["schema"] == {"type": "string"}, path
        assert query["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}, path


def test_every_error_response_carries_the_envelope(openapi):
    envelope = {"$ref": "#/components/schemas/Error"}
    errors = 0
    for path, method, operation in _operations(openapi):
        for status_code, response in operation["responses"].items():
            if status_code.startswith(("4", "5")):
                assert _json_schema(response) == envelope, f"{method.upper()} {path} {status_code}"
                errors += 1
        assert {"400", "401", "403", "404", "429"} <= set(operation["responses"]), f"{method.upper()} {path}"
    assert errors >= 5 * len(_operations(openapi))


def test_area_targets_answer_the_envelope_the_schema_describes(api, make_user):
    supervisor = make_user(role=Role.SUPERVISOR, areas=(KAUR,))
    client = api(supervisor)
    for year in (2026, 2027, 2028):
        put = client.put(
            f"/api/v1/areas/{GEDUNG_WANI}/targets/{year}",
            {"target_workers": year - 2000, "budget_idr": 0},
            format="json",
        )
        assert put.status_code == 201

    first = client.get(f"/api/v1/areas/{GEDUNG_WANI}/targets?page_size=2").json()
    assert set(first) == {"next", "previous", "results"}
    assert [t["year"] for t in first["results"]] == [2026, 2027]
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert [t["year"] for t in second["results"]] == [2028]
    assert (second["next"], second["previous"] is not None) == (None, True)
