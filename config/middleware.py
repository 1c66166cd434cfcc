"""Request-level guards that must run before any view reads the body."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.dberrors import busy_reason
from config.handlers import busy_page, json_error


class BodySizeLimitMiddleware:
    """Answers 413 (in the envelope) before an oversized body is read.

    DRF's JSON parser reads the request stream itself, so Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE never sees a JSON body; this is the one place that bounds it.
    Multipart uploads (spreadsheet imports) get the larger upload limit.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("HTTP_TRANSFER_ENCODING") and request.method not in ("GET", "HEAD", "OPTIONS"):
            # A chunked body has no Content-Length: Django would read it as empty (a PATCH
            # silently dropped) and no size limit would see it. Clients send the length.
            return json_error("length_required")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        is_upload = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        limit = settings.MAX_UPLOAD_BYTES if is_upload else settings.MAX_JSON_BODY_BYTES
        if length > limit:
            return json_error("payload_too_large", details={"limit_bytes": limit})
        return self.get_response(request)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every API answer that sets none: they carry personal data
    (NIKs, names, phones) or a token, and no browser or proxy cache may keep them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/v1/") and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


class DatabaseBusyMiddleware:
    """A database refusal under load (config/dberrors.py) raised in a plain Django view (panel,
    OpenRosa, /metrics, health) answers 503 with Retry-After, as DRF views do, not a 500.
    DRF views never get here: their exception handler answers first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        reason = busy_reason(exception)
        if reason is None:
            return None
        return busy_page(request, reason, exception)
