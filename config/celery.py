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
