"""Personal data kept out of every log record.

`PersonalDataFilter` sits on every handler (settings.LOGGING for Django and gunicorn's workers;
the Celery worker's own handlers through `install`, called from its logging signals). For each
record it:

- replaces a database error, wherever it appears (the logged message's arguments, the exception
  being logged and its chain), by `config.dberrors.safe_summary`: class, SQLSTATE, constraint and
  table. PostgreSQL's text is never kept: DETAIL names the values (`Key (nik)=(…) already
  exists`), CONTEXT of a failed COPY is the whole row (NIK, name, birth date, phone), and even a
  primary message can quote a value (`invalid input syntax for type date: "…"`);
- masks what looks like a NIK or KK number (a run of 16 digits: the first 6, the region, are
  kept) and a phone number (+62 8xx…, 628xx…, 08xx…: the operator prefix kept) in the final text,
  traceback included.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from config.dberrors import is_database_error, safe_summary

_SIXTEEN_DIGITS = re.compile(r"(?<!\d)(\d{6})\d{10}(?!\d)")
# +62 812-3456-7890, 62812…, 0812 3456 7890: a prefix, an 8, then 7 to 12 more digits, spaced or
# dashed. The prefix and the operator code (8xx) are kept: they name no one.
_PHONE = re.compile(r"(?<![\w+])(\+62|62|0)([\s\-]?8\d\d)((?:[\s\-]?\d){5,10})(?!\d)")


def mask_text(text: str) -> str:
    text = _SIXTEEN_DIGITS.sub(lambda m: m.group(1) + "*" * 10, text)
    return _PHONE.sub(lambda m: m.group(1) + m.group(2) + re.sub(r"\d", "*", m.group(3)), text)


def _safe_exception_text(exc_info: Any) -> str:
    """The traceback of `exc_info` with every database error's message replaced by its summary."""
    _type, value, tb = exc_info
    if value is None:
        return "".join(traceback.format_exception(_type, value, tb))
    lines: list[str] = []
    seen: set[int] = set()
    chain: list[BaseException] = []
    current: BaseException | None = value
    while current is not None and id(current) not in seen:  # oldest cause first, as Python prints
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for index, error in enumerate(reversed(chain)):
        if index:
            lines.append("\nThe above exception led to the following exception:\n\n")
        lines.extend(traceback.format_tb(error.__traceback__))
        if is_database_error(error):
            lines.append(f"{type(error).__module__}.{type(error).__qualname__}: {safe_summary(error)}\n")
        else:
            lines.extend(traceback.format_exception_only(type(error), error))
    return "Traceback (most recent call last):\n" + "".join(lines).rstrip("\n")


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, BaseException) and is_database_error(arg) for arg in record.args
        ):
            record.args = tuple(
                safe_summary(arg) if isinstance(arg, BaseException) and is_database_error(arg) else arg
                for arg in record.args
            )
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logged as it is, masked
            message = str(record.msg)
        record.msg, record.args = mask_text(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_text(_safe_exception_text(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


_FILTER = PersonalDataFilter()


def install(logger: logging.Logger | None = None) -> None:
    """Puts the filter on every handler of `logger` (the root logger by default) and of every
    logger known so far (Celery configures its own handlers, outside settings.LOGGING)."""
    loggers = [logger or logging.getLogger()]
    if logger is None:
        loggers += [item for item in logging.Logger.manager.loggerDict.values() if isinstance(item, logging.Logger)]
    for each in loggers:
        for handler in each.handlers:
            if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
                handler.addFilter(_FILTER)
