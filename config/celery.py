"""The Celery app. Without REDIS_URL tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""

import os
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_init, worker_process_init

import config.metrics
import config.requestid  # noqa: F401  (carries the request id into and out of messages)
from config.logmask import install as install_log_mask
from config.memory import tune_garbage_collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@worker_process_init.connect
def _tune_gc(**_kwargs: Any) -> None:
    """The worker has imported Django and every task module by now (and a pool process inherits
    them): see tune_garbage_collector."""
    tune_garbage_collector()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _mask_personal_data(logger: Any = None, **_kwargs: Any) -> None:
    """Celery sets up its own log handlers: the personal data filter goes on them too."""
    install_log_mask(logger)
    install_log_mask()


def _closed_channel_is_a_connection_error() -> None:
    """kombu 5.7's Redis transport, after the broker restarts: a late ack still queued on the
    worker's hub, or a restore of unacknowledged messages, builds a client from a channel whose
    connection is already closed and fails with AttributeError ('NoneType' object has no attribute
    'hostname' / 'client'; the upstream bug family of celery/kombu#582 and #970). That error is in
    none of the transport's connection errors, so Celery takes it as unrecoverable and the worker
    exits for good (issue 11). It is a lost connection: raising redis' ConnectionError makes
    `Message.ack_log_error` log it and move on (the message stays unacknowledged and Redis hands it
    out again after the visibility timeout; every task here is idempotent) and lets the consumer
    reconnect as it does for any other broker loss."""
    import redis.exceptions
    from kombu.transport import redis as kombu_redis

    connparams = kombu_redis.Channel._connparams  # type: ignore[attr-defined]
    if getattr(connparams, "closed_channel_guard", False):
        return

    def guarded(self: Any, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection of this channel is closed")
        return connparams(self, asynchronous=asynchronous)

    guarded.closed_channel_guard = True  # type: ignore[attr-defined]
    kombu_redis.Channel._connparams = guarded  # type: ignore[attr-defined]


_closed_channel_is_a_connection_error()
