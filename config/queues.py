"""Celery queues per workload, so each can run on its own hosts and be scaled on its own.

A task is routed by its name (the `name=` every task declares), so this module knows no domain
code. A worker takes the queues it is started with (`celery -A config worker -Q registry`); a
worker started without `-Q` takes every queue (the embedded and development setups).

- registry: the sends, polls and reconciliation with the central registry (slow, I/O-bound calls;
  a stuck registry must not hold back anything else).
- imports: spreadsheet imports (CPU and database heavy, minutes per file).
- reports: folding the coverage counts and anything else that only feeds reports.
- maintenance: partitions, pruning, housekeeping (cheap, periodic).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from kombu import Queue
from kombu.exceptions import KombuError

logger = logging.getLogger(__name__)

REGISTRY = "registry"
IMPORTS = "imports"
REPORTS = "reports"
MAINTENANCE = "maintenance"

QUEUE_NAMES = (REGISTRY, IMPORTS, REPORTS, MAINTENANCE)

# Task name prefix → queue. The longest matching prefix wins; a task matching none goes to the
# maintenance queue (it is never left on a queue no worker listens to).
ROUTES_BY_PREFIX = {
    "enrolment.registry.": REGISTRY,
    "enrolment.imports.": IMPORTS,
    "enrolment.reports.": REPORTS,
    "enrolment.sync.": MAINTENANCE,
    # The budget year: registry messages (deaths, payments) with the registry's calls; a renewal
    # is an import-sized job; the nightly lapse is housekeeping.
    "enrolment.funding.send_registry_messages": REGISTRY,
    "enrolment.funding.renew": IMPORTS,
    "enrolment.funding.resume_renewals": IMPORTS,
    "enrolment.funding.": MAINTENANCE,
    "openrosa.": MAINTENANCE,
    "villages.": MAINTENANCE,
}


def queue_for(task_name: str) -> str:
    matches = [prefix for prefix in ROUTES_BY_PREFIX if task_name.startswith(prefix)]
    return ROUTES_BY_PREFIX[max(matches, key=len)] if matches else MAINTENANCE


def route_task(name: str, args: object, kwargs: object, options: object, task: object = None, **kw: object) -> dict:
    """Celery's router signature (CELERY_TASK_ROUTES). CELERY_QUEUE_PREFIX (Celery's
    `queue_prefix`) lets several deployments, or parallel test runs, share one Redis."""
    return {"queue": current_app.conf.get("queue_prefix", "") + queue_for(name)}


def task_queues(prefix: str = "") -> tuple[Queue, ...]:
    return tuple(Queue(prefix + name, routing_key=prefix + name) for name in QUEUE_NAMES)


def nudge(task: Any, *args: Any, fallback: str) -> bool:
    """Asks a worker to run `task` now. Only a nudge: the database row is the outbox, and a broker
    that is down or restarting must not fail what was already stored. The loss is logged, naming
    `fallback` (the sweeper or beat task that runs it instead); answers whether it was sent."""
    try:
        task.delay(*args)
    except (KombuError, OSError) as problem:
        logger.warning("%s %s not sent (%s); %s", task.name, list(args), problem, fallback)
        return False
    return True
