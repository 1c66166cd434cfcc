"""Database errors: which ones mean "busy, try again", and what of them may be shown or logged.

PostgreSQL refuses work under load in a handful of ways that say nothing about the request: the
shared lock table is full ("out of shared memory"), a lock or statement timeout fired, a
deadlock or serialization failure rolled the transaction back, or no connection slot was free.
The request is fine and will pass later, so the client gets a retryable 503 `service_busy` with
Retry-After (config/handlers.py), never a 500.

PostgreSQL's error text is not for anyone's eyes: DETAIL (`Key (nik)=(…) already exists`),
CONTEXT (a failed COPY's whole row) and the statement carry personal data. `safe_summary` is what
may be logged or shown of any database error: the class, the SQLSTATE, the constraint and table
names, and the primary message only for the codes whose primary message holds no values.
"""

from __future__ import annotations

from django.db import DatabaseError, OperationalError

# SQLSTATEs that mean "the database is busy": the request may simply be sent again.
BUSY_SQLSTATES = {
    "53200": "out_of_memory",  # "out of shared memory": the lock table is full
    "53300": "too_many_connections",
    "55P03": "lock_not_available",  # lock_timeout
    "57014": "query_canceled",  # statement_timeout
    "40001": "serialization_failure",
    "40P01": "deadlock_detected",
}


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (Django wraps the driver's error as __cause__)."""
    for candidate in (exc, exc.__cause__, exc.__context__):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def busy_reason(exc: BaseException) -> str | None:
    """The name of the load refusal `exc` is, or None when it is not one."""
    if not isinstance(exc, OperationalError):
        return None
    return BUSY_SQLSTATES.get(sqlstate(exc) or "")


def safe_summary(exc: BaseException) -> str:
    """A database error without its values: class, SQLSTATE, and constraint/table names."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    diag = getattr(cause, "diag", None)
    parts = [f"{type(exc).__name__}", f"sqlstate={sqlstate(exc) or '-'}"]
    for name in ("table_name", "constraint_name", "column_name"):
        value = getattr(diag, name, None) if diag is not None else None
        if value:
            parts.append(f"{name.removesuffix('_name')}={value}")
    return " ".join(parts)


def is_database_error(exc: BaseException) -> bool:
    """Django's database errors and the drivers' own (psycopg, sqlite3), whose text is the server's."""
    if isinstance(exc, DatabaseError) or isinstance(exc.__cause__, DatabaseError):
        return True
    return type(exc).__module__.split(".")[0] in ("psycopg", "sqlite3", "_sqlite3")
