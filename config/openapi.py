"""The OpenAPI schema's error side (a drf-spectacular postprocessing hook, SPECTACULAR_SETTINGS):
the envelope as `components/schemas/Error`, the catalogue of codes, and every operation's error
responses pointed at it."""

from __future__ import annotations

from typing import Any

from config.errors import ERROR_CODES


def add_error_components(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the envelope schema and the list of error codes."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorCode"] = {
        "type": "string",
        "enum": sorted(ERROR_CODES),
        "description": "\n".join(
            f"- `{code}` ({status_code}): {message}" for code, (status_code, message) in sorted(ERROR_CODES.items())
        ),
    }
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"$ref": "#/components/schemas/ErrorCode"},
                    "message": {"type": "string", "description": "In the request's Accept-Language (id or en)."},
                    "details": {
                        "type": "object",
                        "properties": {
                            "fields": {
                                "type": "object",
                                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                                "description": "Field errors, nested fields as dotted paths (`address.rt`, `heirs.0.nik`).",
                            }
                        },
                        "additionalProperties": True,
                    },
                },
            }
        },
    }
    # Every operation can fail; point each declared or implied error at the envelope.
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status_code in ("400", "401", "403", "404", "429"):
                responses.setdefault(status_code, {"description": ""})
            for status_code, response in responses.items():
                if status_code.startswith(("4", "5")):
                    response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                    if not response.get("description"):
                        response["description"] = _HTTP_DESCRIPTIONS.get(status_code, "Error")
    return result


_HTTP_DESCRIPTIONS = {
    "400": "Invalid input",
    "401": "No token, or a bad, expired or revoked one",
    "403": "The role may not do this",
    "404": "Not found, or outside the caller's areas",
    "409": "Conflict",
    "412": "Stale If-Match version",
    "413": "Body too large",
    "415": "Unsupported media type",
    "422": "Idempotency key reused with another body",
    "429": "Throttled (see Retry-After)",
    "503": "Busy: the database refused for load (see Retry-After)",
}
