"""Log lines: the request id on each, JSON when LOG_FORMAT=json (one object per line, for a log
shipper).

Personal data is masked once, by `config.logmask.PersonalDataFilter` on every handler, before a
formatter runs: the formatters here only lay out what the filter left (its masked message and
exception text), so every line, plain or JSON, carries one masking format.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from config import requestid


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record (for plain formats too: `%(request_id)s`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = requestid.current() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or requestid.current() or None,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info:
            # The filter's text: the traceback with database errors summarised and masked.
            line["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def logging_config(*, fmt: str, level: str) -> dict:
    """The LOGGING setting: `fmt` is "json" or "plain"."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # personal_data (config/logmask.py) masks NIKs and phone numbers and replaces database
        # errors' text by a summary; it is the only masking, so it must stay on every handler.
        "filters": {
            "request_id": {"()": "config.logs.RequestIdFilter"},
            "personal_data": {"()": "config.logmask.PersonalDataFilter"},
        },
        "formatters": {
            "plain": {
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
