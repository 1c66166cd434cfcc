"""Exceptions into the one error envelope (config/errors.py): DRF's EXCEPTION_HANDLER for every
API view, and Django's own handlers (handler400/403/404/500, the CSRF failure view) for requests
that never reach one, with the 503 busy answer in the client's own format."""

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
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

from config.dberrors import busy_reason, safe_summary
from config.errors import ERROR_CODES, ServiceError, envelope, error_response, validation_error_body

logger = logging.getLogger(__name__)

# --- DRF: every exception raised in an API view ---------------------------------------------------

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
    # Imported here: rest_framework.views reads the REST_FRAMEWORK settings, whose classes
    # (authentication, this handler) import config modules: imported at the top it would be a cycle.
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


def json_error(code: str, status_code: int | None = None, details: dict[str, Any] | None = None) -> JsonResponse:
    default_status, message = ERROR_CODES[code]
    return JsonResponse(
        envelope(code, message, details),
        status=status_code or default_status,
        json_dumps_params={"ensure_ascii": False},
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error("not_found")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, django_exceptions.RequestDataTooBig):
        return json_error("payload_too_large")
    return json_error("bad_request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error("permission_denied")


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its `except` block, so the exception is still at hand: a database
    # refusal raised by a middleware (sessions, auth) is a 503 like one raised in a view.
    exc = sys.exc_info()[1]
    reason = busy_reason(exc) if exc is not None else None
    if exc is not None and reason is not None:
        return busy_page(request, reason, exc)
    return json_error("server_error")


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
        response = json_error("service_busy", details={"retry_after": wait})
    response["Retry-After"] = str(wait)
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    return json_error("csrf_failed")
