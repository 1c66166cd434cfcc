"""The one error envelope: `{"error": {"code", "message", "details"}}`, for every error.

Everything that can fail a request ends here: DRF's exceptions (validation, parse, auth,
permission, 404, 405, 415, 429), Django's (Http404, PermissionDenied, ValidationError, an
oversized body), the services' `ServiceError`s, and Django's own handlers for URLs that match no
view, CSRF failures and crashes. Messages are translated into the request's language
(Indonesian by default, English on `Accept-Language: en`).

Codes are stable snake_case words that clients switch on; they only ever get added to.

This module holds the codes, the `ServiceError`s the services raise and the envelope itself;
config/handlers.py turns exceptions into it (DRF's EXCEPTION_HANDLER, Django's handler40x/500,
the 503 busy page) and config/openapi.py puts it in the schema.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

# Every code a client may see, with the HTTP status it comes with and its default message.
# Apps register their own codes by subclassing ServiceError; `ERROR_CODES` is the catalogue the
# OpenAPI schema lists (config.openapi.add_error_components).
ERROR_CODES: dict[str, tuple[int, Promise | str]] = {
    "validation_failed": (400, _("Some fields are not valid.")),
    "malformed_json": (400, _("The request body is not valid JSON.")),
    "malformed_request": (400, _("The request could not be read.")),
    "bad_request": (400, _("The request is not valid.")),
    "invalid_credentials": (401, _("Wrong username or password.")),
    "not_authenticated": (401, _("Log in first: the request carries no token.")),
    "authentication_failed": (401, _("The token is not valid, has expired or was revoked. Log in again.")),
    "permission_denied": (403, _("Your role may not do this.")),
    "csrf_failed": (403, _("The CSRF check failed. Reload the page and try again.")),
    "not_found": (404, _("Not found.")),
    "method_not_allowed": (405, _("This method is not allowed here.")),
    "not_acceptable": (406, _("The requested response format is not available.")),
    "conflict": (409, _("The request conflicts with the current state.")),
    "precondition_failed": (412, _("The record was changed by someone else. Reload it and try again.")),
    "length_required": (411, _("Send the body with a Content-Length (chunked bodies are not accepted).")),
    "payload_too_large": (413, _("The request body is too large.")),
    "unsupported_media_type": (415, _("This content type is not supported.")),
    "idempotency_key_reused": (422, _("This id was already used with different data.")),
    "throttled": (429, _("Too many requests. Try again later.")),
    "server_error": (500, _("Something went wrong on the server. It has been logged.")),
    "service_busy": (503, _("The service is busy. Try again in a few seconds.")),
}


def register_error_code(code: str, status_code: int, message: Promise | str) -> str:
    """Adds a code that appears only on field errors (e.g. `nik_invalid`) to the catalogue."""
    ERROR_CODES.setdefault(code, (status_code, message))
    return code


class ServiceError(Exception):
    """A refusal raised by a service, carrying a stable `code`.

    Services raise these without knowing about HTTP; the exception handler renders them. A
    subclass sets `code`, `status_code` and `default_message`; registering a subclass adds its
    code to the catalogue.
    """

    code: str = "bad_request"
    status_code: int = 400
    default_message: Promise | str = _("The request is not valid.")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ERROR_CODES.setdefault(cls.code, (cls.status_code, cls.default_message))

    def __init__(
        self,
        message: Promise | str | None = None,
        *,
        details: dict[str, Any] | None = None,
        fields: dict[str, list[str | Promise]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.details = dict(details or {})
        self.headers = dict(headers or {})
        if fields:
            self.details["fields"] = fields
        super().__init__(str(self.message))


class NotFound(ServiceError):
    code = "not_found"
    status_code = 404
    default_message = _("Not found.")


class PermissionDenied(ServiceError):
    code = "permission_denied"
    status_code = 403
    default_message = _("Your role may not do this.")


class PreconditionFailed(ServiceError):
    code = "precondition_failed"
    status_code = 412
    default_message = _("The record was changed by someone else. Reload it and try again.")


class IdempotencyKeyReused(ServiceError):
    code = "idempotency_key_reused"
    status_code = 422
    default_message = _("This id was already used with different data.")


class Conflict(ServiceError):
    code = "conflict"
    status_code = 409
    default_message = _("The request conflicts with the current state.")


class FieldsInvalid(ServiceError):
    """Field errors found by a service (rules a serializer cannot see)."""

    code = "validation_failed"
    status_code = 400
    default_message = _("Some fields are not valid.")

    @classmethod
    def from_detail(cls, detail: Any) -> FieldsInvalid:
        """Field errors with their codes; the error takes the most specific code among them
        (`nik_invalid` rather than `validation_failed`), as a 400 from a serializer does."""
        code, details = validation_error_body(detail)
        error = cls(ERROR_CODES[code][1], details=details)
        error.code = code
        return error


def envelope(code: str, message: Any, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": str(message), "details": _plain(details or {})}}


def error_response(
    code: str,
    *,
    message: Any = None,
    details: dict[str, Any] | None = None,
    status_code: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    default_status, default_message = ERROR_CODES.get(code, (400, ERROR_CODES["bad_request"][1]))
    return Response(
        envelope(code, message if message is not None else default_message, details),
        status=status_code or default_status,
        headers=headers,
    )


def _plain(value: Any) -> Any:
    """Lazy translations and ErrorDetails into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, drf_exceptions.ErrorDetail):
        return str(value)
    return value


def flatten_field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as `{"address.rt": [...], "heirs.0.nik": [...]}`.

    Flat dotted keys let a form highlight a nested input without walking a tree.
    """
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_field_errors(value, name))
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        for index, item in enumerate(detail):
            if item:  # DRF puts {} for the valid items of a list of nested objects
                out.update(flatten_field_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        items = detail if isinstance(detail, list) else [detail]
        out[prefix or "non_field_errors"] = [str(item) for item in items]
    return out


def first_domain_code(detail: Any) -> str | None:
    """The first field error whose code is a registered domain code (e.g. `nik_invalid`)."""
    if isinstance(detail, dict):
        values: list[Any] = list(detail.values())
    elif isinstance(detail, list):
        values = detail
    else:
        values = [detail]
    for value in values:
        if isinstance(value, drf_exceptions.ErrorDetail):
            if value.code in ERROR_CODES and value.code not in ("validation_failed", "bad_request"):
                return str(value.code)
        elif isinstance(value, (dict, list)):
            found = first_domain_code(value)
            if found:
                return found
    return None


def validation_error_body(detail: Any) -> tuple[str, dict[str, Any]]:
    """The code and details for a DRF validation detail, shared by bulk results and 400s."""
    return first_domain_code(detail) or "validation_failed", {"fields": flatten_field_errors(detail)}
