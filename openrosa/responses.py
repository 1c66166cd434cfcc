"""OpenRosa 1.0 responses: the headers every answer carries and the XML bodies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase
from django.utils.http import http_date

RESPONSE_NS = "http://openrosa.org/http/response"
XML_TYPE = "text/xml; charset=utf-8"


def with_headers(response: HttpResponseBase) -> HttpResponseBase:
    response["X-OpenRosa-Version"] = "1.0"
    response["X-OpenRosa-Accept-Content-Length"] = str(settings.OPENROSA_MAX_SUBMISSION_BYTES)
    response["Date"] = http_date()
    return response


def xml_response(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(
        ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(), status=status, content_type=XML_TYPE
    )


def message(text: str, *, status: int, nature: str = "", extra: str = "") -> HttpResponse:
    """An OpenRosaResponse: ODK Collect shows `text` to the officer."""
    nature_attr = f" nature={quoteattr(nature)}" if nature else ""
    return xml_response(
        f'<OpenRosaResponse xmlns="{RESPONSE_NS}"><message{nature_attr}>{escape(text)}</message>{extra}'
        "</OpenRosaResponse>",
        status=status,
    )


def submission_metadata(*, form_id: str, instance_id: str, received_at: dt.datetime) -> str:
    """The `<submissionMetadata>` a 201 carries (OpenRosa 1.0 / ODK's extension): which instance
    the server now holds, so the client may mark it sent."""
    return (
        '<submissionMetadata xmlns="http://www.opendatakit.org/xforms" '
        f"id={quoteattr(form_id)} instanceID={quoteattr(instance_id)} "
        f'submissionDate="{received_at.isoformat()}" isComplete="true"/>'
    )


def element(name: str, value: str) -> str:
    return f"<{name}>{escape(value)}</{name}>"


def form_list(entries: Iterable[dict[str, str]]) -> HttpResponse:
    items = "".join("<xform>" + "".join(element(k, v) for k, v in entry.items()) + "</xform>" for entry in entries)
    return xml_response(f'<xforms xmlns="http://openrosa.org/xforms/xformsList">{items}</xforms>')


def manifest(files: Iterable[dict[str, str]]) -> HttpResponse:
    items = "".join(
        "<mediaFile>" + "".join(element(k, v) for k, v in entry.items()) + "</mediaFile>" for entry in files
    )
    return xml_response(f'<manifest xmlns="http://openrosa.org/xforms/xformsManifest">{items}</manifest>')
