"""Request parsers hardened against hostile bodies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# A lone UTF-16 surrogate (JSON allows "\ud800"; no UTF-8 text, database or hash can hold one).
_SURROGATE = re.compile("[\ud800-\udfff]")
# ... or a NUL too (PostgreSQL text and jsonb cannot hold it). In a request body's fields a NUL
# is a field error of its own (the validators say which field); in a JSON-encoded sync column
# the whole column is refused.
_SURROGATE_OR_NUL = re.compile("[\x00\ud800-\udfff]")


def unstorable_reason(value: Any, max_depth: int | None = None, *, nul: bool = False) -> str | None:
    """Why a parsed JSON value cannot be stored as it is, or None: nested deeper than
    `max_depth` (JSON_MAX_DEPTH), or a string (key or value) holding a lone surrogate (or a NUL,
    with `nul`). Iterative, so a deep value cannot exhaust the stack here."""
    limit = max_depth if max_depth is not None else settings.JSON_MAX_DEPTH
    pattern = _SURROGATE_OR_NUL if nul else _SURROGATE
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if pattern.search(item):
                return "text holds a lone surrogate" + (" or a NUL character" if nul else "")
        elif isinstance(item, (dict, list)):
            if depth > limit:
                return f"nested deeper than {limit} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    stack.append((key, depth))
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing (400 `malformed_json`) what would otherwise fail later as a
    500: a body nested deeper than Python's recursion limit (a few KB of `[[[[…`) or than
    JSON_MAX_DEPTH, and text no database can hold (lone surrogates: `"\\ud800"`). Every JSON
    endpoint refuses them alike, before any service sees the body."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON nested too deeply") from exc
        reason = unstorable_reason(data)
        if reason is not None:
            raise ParseError(f"JSON {reason}")
        return data
