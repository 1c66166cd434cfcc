"""The one error envelope: `{"error": {"code", "message", "details"}}`, for every error.

Everything that can fail a request ends here: DRF's exceptions (validation, parse, auth,
permission, 404, 405, 415, 429), Django's (Http404, PermissionDenied, ValidationError, an
oversized body), the services' `ServiceError`s, and Django's own handlers for URLs that match no
view, CSRF failures and crashes. Messages are translated into the request's language
(Indonesian by default, English on `Accept-Language: en`).

Codes are stable snake_case words that clients switch on; they only ever get added to.
"""

from __future__ import annotations

import logging
import sys
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from django.conf import settings
from django.core import exceptions as django_exceptions
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

from config.dberrors import busy_reason, safe_summary

logger = logging.getLogger(__name__)

# Every code a client may see, with the HTTP status it comes with and its default message.
# Apps register their own codes by subclassing ServiceError; `ERROR_CODES` is the catalogue the
# OpenAPI schema lists (see `add_error_components`).
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


_DRF_CODES: list[tuple[type[drf_exceptions.APIException], str]] = [
    (drf_exceptions.ParseError, "malformed_request"),
    (drf_exceptions.NotAuthenticated, "not_authenticated"),
    (drf_exceptions.AuthenticationFailed, "authentication_failed"),
    (drf_exceptions.PermissionDenied, "permission_denied"),
    (drf_exceptions.NotFound, "not_found"),
    (drf_exceptions.MethodNotAllowed, "method_not_allowed"),
    (drf_exceptions.NotAcceptable, "not_acceptable"),
    (drf_exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (drf_exceptions.Throttled, "throttled"),
]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every exception raised in an API view, as the envelope."""
    # Imported here: rest_framework.views imports the authentication classes, which raise
    # ServiceErrors from this module.
    from rest_framework.views import set_rollback

    response = _handle(exc, context)
    if response is not None:
        set_rollback()
    return response


def _handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        return error_response(
            exc.code, message=exc.message, details=exc.details, status_code=exc.status_code, headers=exc.headers or None
        )
    if isinstance(exc, drf_exceptions.ValidationError):
        code, details = validation_error_body(exc.detail)
        return error_response(code, details=details, status_code=400)
    if isinstance(exc, django_exceptions.ValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return error_response("validation_failed", details={"fields": fields}, status_code=400)
    if isinstance(exc, Http404):
        return error_response("not_found")
    if isinstance(exc, django_exceptions.PermissionDenied):
        return error_response("permission_denied")
    if isinstance(exc, django_exceptions.RequestDataTooBig):
        return error_response("payload_too_large")
    if isinstance(exc, DataError):
        # A value the database cannot hold that validation let through (the validators keep
        # out the ones we know of): the client's data, so a 400 and a log line, not a 500.
        logger.warning("database refused a value: %s", safe_summary(exc))
        return error_response("malformed_request")
    reason = busy_reason(exc)
    if reason is not None:
        return service_busy_response(reason, exc)
    for exc_class, code in _DRF_CODES:
        if isinstance(exc, exc_class):
            return _drf_response(exc, code, context)
    if isinstance(exc, drf_exceptions.APIException):
        return error_response("bad_request", message=exc.detail, status_code=exc.status_code)
    return None  # a real crash: Django's handler500 answers with the envelope and logs it


def service_busy_response(reason: str, exc: Exception) -> Response:
    """503 `service_busy` for a database refusal under load (config/dberrors.py): retryable."""
    logger.warning("database busy (%s): %s", reason, safe_summary(exc))
    wait = settings.SERVICE_BUSY_RETRY_AFTER
    return error_response(
        "service_busy", details={"retry_after": wait}, status_code=503, headers={"Retry-After": str(wait)}
    )


def _drf_response(exc: drf_exceptions.APIException, code: str, context: dict[str, Any]) -> Response:
    headers: dict[str, str] = {}
    details: dict[str, Any] = {}
    if isinstance(exc, drf_exceptions.ParseError):
        request = context.get("request")
        content_type = getattr(request, "content_type", "") or ""
        if "json" in content_type:
            code = "malformed_json"
        details["reason"] = str(exc.detail)
    # `wait` is set by Throttled.__init__ (the stubs do not declare it).
    throttle_wait = getattr(exc, "wait", None) if isinstance(exc, drf_exceptions.Throttled) else None
    if throttle_wait is not None:
        wait = max(1, int(throttle_wait + 0.999))
        headers["Retry-After"] = str(wait)
        details["retry_after"] = wait
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        request = context.get("request")
        details["method"] = getattr(request, "method", None)
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        request = context.get("request")
        details["content_type"] = getattr(request, "content_type", None)
    auth_header = getattr(exc, "auth_header", None)
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        view = context.get("view")
        request = context.get("request")
        if view is not None and request is not None:
            auth_header = view.get_authenticate_header(request)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
    status_code = exc.status_code
    if status_code == status.HTTP_403_FORBIDDEN and code in ("not_authenticated", "authentication_failed"):
        status_code = status.HTTP_401_UNAUTHORIZED
    return error_response(code, details=details, status_code=status_code, headers=headers or None)


# --- Django-level handlers (requests that never reach a DRF view) -----------------------------


def _json(code: str, status_code: int | None = None, details: dict[str, Any] | None = None) -> JsonResponse:
    default_status, message = ERROR_CODES[code]
    return JsonResponse(
        envelope(code, message, details),
        status=status_code or default_status,
        json_dumps_params={"ensure_ascii": False},
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json("not_found")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, django_exceptions.RequestDataTooBig):
        return _json("payload_too_large")
    return _json("bad_request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json("permission_denied")


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its `except` block, so the exception is still at hand: a database
    # refusal raised by a middleware (sessions, auth) is a 503 like one raised in a view.
    exc = sys.exc_info()[1]
    reason = busy_reason(exc) if exc is not None else None
    if exc is not None and reason is not None:
        return busy_page(request, reason, exc)
    return _json("server_error")


def busy_page(request: HttpRequest, reason: str, exc: BaseException) -> HttpResponse:
    """503 with Retry-After for a database refusal outside DRF, in the client's own format: an
    OpenRosaResponse for ODK Collect (it shows the message to the officer), an HTML page for the
    panel (which must not touch the database again: no session, no menu), the envelope elsewhere."""
    logger.warning("database busy (%s): %s", reason, safe_summary(exc))
    wait = settings.SERVICE_BUSY_RETRY_AFTER
    text = str(ERROR_CODES["service_busy"][1])
    response: HttpResponse
    if request.path.startswith("/openrosa/"):
        response = HttpResponse(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<OpenRosaResponse xmlns="http://openrosa.org/http/response">'
            f'<message nature="error">{xml_escape(text)}</message></OpenRosaResponse>',
            status=503,
            content_type="text/xml; charset=utf-8",
        )
        response["X-OpenRosa-Version"] = "1.0"
    elif request.path.startswith("/panel/") or request.path.startswith("/admin/"):
        response = HttpResponse(render_to_string("panel/busy.html", {"message": text}), status=503)
    else:
        response = _json("service_busy", details={"retry_after": wait})
    response["Retry-After"] = str(wait)
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    return _json("csrf_failed")


# --- OpenAPI -----------------------------------------------------------------------------------


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
