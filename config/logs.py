"""Log lines: the request id on each, NIKs and phone numbers masked on each, JSON when
LOG_FORMAT=json (one object per line, for a log shipper).

The masking runs on the formatted message (and on an exception's text), so it holds whatever a
caller passed: an f-string, %-arguments, an exception from a driver quoting a row. A NIK is any
run of 16 digits; a phone number any +62/62/0 8… run of 9 to 13 digits. Both keep their last
four digits, which is what an operator needs to tell two lines apart.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from config import requestid

_NIK = re.compile(r"(?<!\d)\d{12}(\d{4})(?!\d)")
_PHONE = re.compile(r"(?<![\d+])(?:\+62|62|0)[\s-]?8[\d\s-]{6,13}?(\d{4})(?!\d)")


def mask(text: str) -> str:
    text = _NIK.sub(lambda m: "************" + m.group(1), text)
    return _PHONE.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(1), text)


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record (for plain formats too: `%(request_id)s`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = requestid.current() or "-"
        return True


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or requestid.current() or None,
            "message": mask(record.getMessage()),
            "process": record.process,
        }
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def logging_config(*, fmt: str, level: str) -> dict:
    """The LOGGING setting: `fmt` is "json" or "plain"."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # personal_data (config/logmask.py) also replaces database errors' text by a summary.
        "filters": {
            "request_id": {"()": "config.logs.RequestIdFilter"},
            "personal_data": {"()": "config.logmask.PersonalDataFilter"},
        },
        "formatters": {
            "plain": {
                "()": "config.logs.MaskingFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            },
            "json": {"()": "config.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if fmt == "json" else "plain",
                "filters": ["request_id", "personal_data"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
