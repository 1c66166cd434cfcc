"""A database that refuses for load answers 503 `service_busy` with Retry-After, never a 500."""

from __future__ import annotations

import threading

from django.db import connection, transaction

from config.locks import lock_keys
from tests.conftest import committed
from tests.factories import worker_payload
from villages.models import Role
from workers.models import Worker


@committed
def test_a_lock_timeout_is_a_retryable_503_and_nothing_is_stored(api, make_user, settings):
    settings.SERVICE_BUSY_RETRY_AFTER = 7
    client = api(make_user(Role.FIELD_OFFICER))
    client.raise_request_exception = False
    body = worker_payload(id="busy-1")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                lock_keys("worker", ["busy-1"])
                held.set()
                release.wait(20)
        finally:
            held.set()
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        response = client.post("/api/v1/workers", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    finally:
        release.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response.json() == {
        "error": {
            "code": "service_busy",
            "message": "The service is busy. Try again in a few seconds.",
            "details": {"retry_after": 7},
        }
    }
    assert not Worker.objects.filter(id="busy-1").exists()
    # Sent again once the database has room, the same request is stored.
    assert client.post("/api/v1/workers", body, format="json").status_code == 201
    assert Worker.objects.filter(id="busy-1").count() == 1


def test_busy_reasons_are_the_load_refusals_only():
    from django.db import IntegrityError, OperationalError

    from config.dberrors import busy_reason

    class Driver(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    def wrapped(cls: type[Exception], state: str) -> Exception:
        error = cls("boom")
        error.__cause__ = Driver(state)
        return error

    assert busy_reason(wrapped(OperationalError, "53200")) == "out_of_memory"
    assert busy_reason(wrapped(OperationalError, "40P01")) == "deadlock_detected"
    assert busy_reason(wrapped(OperationalError, "40001")) == "serialization_failure"
    assert busy_reason(wrapped(OperationalError, "55P03")) == "lock_not_available"
    assert busy_reason(wrapped(OperationalError, "57014")) == "query_canceled"
    assert busy_reason(wrapped(OperationalError, "08006")) is None  # a lost connection is not load
    assert busy_reason(wrapped(IntegrityError, "40001")) is None
