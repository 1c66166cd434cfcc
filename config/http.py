"""Small HTTP helpers shared by the API views."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request

from config.errors import FieldsInvalid, ServiceError

_VERSION = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def if_match_version(request: Request) -> int | None:
    """The record version in `If-Match` (`3`, `"3"` or `W/"3"`), or None when absent."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _VERSION.match(header)
    if not match:
        raise FieldsInvalid(fields={"If-Match": [_("Send the record's version, e.g. If-Match: 3.")]})
    return int(match.group(1))


def object_body(request: Request) -> Mapping[str, Any]:
    """The body as a JSON object. `[]`, `1`, `"x"` or `null` is a 400, never read as "no change"."""
    body = request.data
    if not isinstance(body, Mapping):
        raise FieldsInvalid(fields={"non_field_errors": [_("Send a JSON object.")]})
    return body


def bulk_records(request: Request) -> list[Any]:
    """The `records` list of a bulk body, checked for shape and size (BULK_MAX_RECORDS).

    Each record is validated on its own later; only the envelope of the request is judged here.
    """
    body = request.data
    records = body.get("records") if isinstance(body, dict) else None
    limit = settings.BULK_MAX_RECORDS
    if not isinstance(records, list):
        raise FieldsInvalid(fields={"records": [_('Send {"records": [...]} with up to %(n)d records.') % {"n": limit}]})
    if not records:
        raise FieldsInvalid(fields={"records": [_("Send at least one record.")]})
    if len(records) > limit:
        raise PayloadTooLarge(details={"max_records": limit, "received": len(records)})
    return records


class PayloadTooLarge(ServiceError):
    code = "payload_too_large"
    status_code = 413
    default_message = _("Too many records in one request.")
