"""A logging filter that masks NIK-like digit runs and phone numbers: the last line of defence.

No code should log a person's NIK, family-card number or phone (services log ids), but a
message that quotes a request, an exception that repeats a value or a third-party library's
warning can. Every handler of settings.LOGGING carries this filter, so such a line reaches the
log with `1704********0001` and `+62*******7890` instead: 16-digit runs (with or without the
spaces, dots and dashes cards print) keep their first and last four digits, Indonesian mobile
numbers (0812…, 62812…, +62812…) their last four.
"""

from __future__ import annotations

import logging
import re

SIXTEEN_DIGITS = re.compile(r"(?<![0-9])[0-9](?:[ .\-]?[0-9]){15}(?![0-9])")
PHONE = re.compile(r"(?<![0-9])(?:\+62|62|0)[ .\-]?8(?:[ .\-]?[0-9]){6,11}(?![0-9])")


def _mask_digits(match: re.Match[str]) -> str:
    digits = re.sub(r"[^0-9]", "", match.group(0))
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"[^0-9+]", "", text)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_text(text: str) -> str:
    """The text with every NIK-like run and phone number masked."""
    if not any(c.isdigit() for c in text):
        return text
    return PHONE.sub(_mask_phone, SIXTEEN_DIGITS.sub(_mask_digits, text))


class MaskPersonalData(logging.Filter):
    """Rewrites a record's message (and its formatted exception and stack) masked. Never drops
    a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True
