"""One request id through a request, the tasks it queues and the registry calls they make.

The id comes from the client's (or the proxy's) `X-Request-ID` when it is a sane token, otherwise
a new one; it is answered in `X-Request-ID`, put on every log line (config.logs), carried in the
headers of every Celery message sent while it is set, restored in the worker that runs the task,
and sent to the registry as `X-Request-ID`. A task started by beat gets an id of its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_current: ContextVar[str] = ContextVar("request_id", default="")
_SANE = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def current() -> str:
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex


def accept(candidate: str | None) -> str:
    """The caller's id if it is a plain token of reasonable length, else a new one (an id is
    copied into every log line: it must not carry anything a client wants to inject)."""
    return candidate if candidate and _SANE.fullmatch(candidate) else new_id()


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accept(request.headers.get(HEADER))
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


@before_task_publish.connect
def _carry_into_message(headers: dict[str, Any] | None = None, **_kwargs: Any) -> None:
    if headers is not None and current() and "request_id" not in headers:
        headers["request_id"] = current()


@task_prerun.connect
def _restore_in_worker(task: Any = None, **_kwargs: Any) -> None:
    carried = getattr(task.request, "request_id", None) if task is not None else None
    _current.set(accept(carried if isinstance(carried, str) else None))


@task_postrun.connect
def _clear_after_task(**_kwargs: Any) -> None:
    _current.set("")
