"""gunicorn settings for the service: `gunicorn -c deploy/gunicorn.conf.py config.wsgi`.

Workers are processes (sync), a few per core; each keeps its database connection between
requests (DATABASE_CONN_MAX_AGE) or, behind PgBouncer, opens one per request cheaply. Metrics are
collected across the processes with prometheus_client's multiprocess mode: the directory is
emptied when the master starts and a dead worker's files are marked, as prometheus_client asks.
"""

import multiprocessing
import os
import shutil
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))  # an import upload or a large export
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # recycles workers, bounding any slow leak
max_requests_jitter = 500
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

_metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/run/enrolment/metrics")


def on_starting(server: object) -> None:
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    Path(_metrics_dir).mkdir(parents=True, exist_ok=True)


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
