"""Read replicas: `DATABASE_REPLICA_URL` (a PostgreSQL streaming replica) takes the report,
export and list reads; everything else, and every read that must see a write, stays on the
primary.

A view opts in with `replica_reads = True` (DRF views: the reports, exports and the big lists).
Its GET/HEAD reads go to the replica when all of these hold:
- no write was made earlier in the same request (the router sees every ORM write; raw SQL runs
  on the primary's connection anyway);
- the same client (token or session) made no write in the last REPLICA_PIN_SECONDS: an operator
  who has just verified twenty enrolments sees them in the list that follows (read-your-writes);
- the replica answers and replays within REPLICA_MAX_LAG_SECONDS (checked at most every
  REPLICA_CHECK_SECONDS per process; down or lagging: the primary answers, nothing fails).
Migrations never run on the replica (it is read-only and follows the primary's WAL).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_may_use_replica: ContextVar[bool] = ContextVar("may_use_replica", default=False)
_wrote: ContextVar[bool] = ContextVar("wrote", default=False)
_health: dict[str, float | bool] = {"checked_at": 0.0, "usable": False}

# Lag in seconds, 0 when everything received is replayed (an idle primary sends nothing new, so
# the last replay's age says nothing then). NULL on a server that is not a replica.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN NULL
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


def configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_lag() -> float | None:
    """Seconds behind the primary; None when the replica cannot be asked (down, or not one)."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            row = cursor.fetchone()
    except Exception as error:  # any failure to reach it means: read from the primary
        logger.warning("replica unavailable: %s", type(error).__name__)
        connections[REPLICA].close()
        return None
    if row is None or row[0] is None:
        # A "replica" that is the primary itself (tests, a single-host setup) lags by nothing.
        return 0.0 if settings.DATABASES[REPLICA].get("TEST", {}).get("MIRROR") else None
    return float(row[0])


def replica_usable() -> bool:
    now = time.monotonic()
    if now - float(_health["checked_at"]) >= settings.REPLICA_CHECK_SECONDS:
        lag = replica_lag()
        _health.update(checked_at=now, usable=lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS)
    return bool(_health["usable"])


def forget_health() -> None:
    _health.update(checked_at=0.0, usable=False)


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _may_use_replica.get() and not _wrote.get() and replica_usable():
            return REPLICA
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        _wrote.set(True)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


def _client_key(request: HttpRequest) -> str | None:
    credential = request.headers.get("Authorization") or request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    return "replica-pin:" + hashlib.sha256(credential.encode()).hexdigest()[:32] if credential else None


class ReplicaMiddleware:
    """Decides, per request, whether the view's reads may go to the replica (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        wrote_token = _wrote.set(False)
        may_token = _may_use_replica.set(False)
        try:
            response = self.get_response(request)
        finally:
            _may_use_replica.reset(may_token)
            _wrote.reset(wrote_token)
        if configured() and request.method not in SAFE_METHODS and response.status_code < 500:
            key = _client_key(request)
            if key:
                cache.set(key, 1, timeout=settings.REPLICA_PIN_SECONDS)
        return response

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> None:
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        if not (configured() and request.method in SAFE_METHODS and getattr(view_class, "replica_reads", False)):
            return
        key = _client_key(request)
        if key and cache.get(key):
            return  # this client wrote a moment ago: it reads its writes on the primary
        _may_use_replica.set(True)
