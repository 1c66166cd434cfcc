"""Prometheus metrics: `/metrics` and the counters every process keeps.

Counters and histograms live in the process that counts them. Under gunicorn (several worker
processes) prometheus_client's multiprocess mode is used: PROMETHEUS_MULTIPROC_DIR is set by
config/gunicorn.py before anything is imported, each process writes its values to files there,
and a scrape adds them up. Gauges that describe the database or the broker (outbox depth,
batches by status, queue lengths) are not kept anywhere: they are read when Prometheus scrapes,
by the collectors registered with `register_scrape_collector` (the domain apps register theirs
in their AppConfig.ready; this module knows no domain).

Access (API.md "Operations"): a bearer token equal to METRICS_TOKEN, or a client address inside
METRICS_ALLOWED_NETWORKS; everything else is a 404, as if the endpoint were not there.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from config.handlers import json_error

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "enrolment_http_requests_total", "HTTP requests answered, by view, method and status", ["view", "method", "status"]
)
LATENCY = Histogram(
    "enrolment_http_request_duration_seconds",
    "Time to answer an HTTP request, by view",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SYNC_PULLS = Counter("enrolment_sync_pulls_total", "Device sync pulls served, full or incremental", ["kind"])
SYNC_PUSHES = Counter("enrolment_sync_pushes_total", "Device sync pushes received")
LOGIN_FAILURES = Counter("enrolment_login_failures_total", "Failed logins (wrong credentials or throttled)", ["reason"])

ScrapeCollector = Callable[[], Iterable[Metric]]
_scrape_collectors: list[ScrapeCollector] = []


def register_scrape_collector(collector: ScrapeCollector) -> None:
    """`collector()` yields metric families, read from the database or the broker at scrape time."""
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


class _AtScrape:
    def collect(self) -> Iterable[Metric]:
        for collector in (celery_queue_lengths, *_scrape_collectors):
            try:
                yield from collector()
            except Exception:  # one broken source must not hide every other metric
                logger.exception("metrics collector %s failed", getattr(collector, "__name__", collector))


def celery_queue_lengths() -> Iterable[Metric]:
    """Messages waiting per Celery queue (kombu's Redis transport keeps a queue as a list, and a
    list per priority step beside it)."""
    from config.queues import QUEUE_NAMES

    family = GaugeMetricFamily("enrolment_celery_queue_length", "Messages waiting in a Celery queue", labels=["queue"])
    if settings.REDIS_URL:
        import redis

        prefix = settings.CELERY_QUEUE_PREFIX
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=settings.BROKER_CHECK_TIMEOUT)
        try:
            for name in QUEUE_NAMES:
                keys = [prefix + name, *(f"{prefix}{name}\x06\x16{step}" for step in (3, 6, 9))]
                pipe = client.pipeline()
                for key in keys:
                    pipe.llen(key)
                family.add_metric([name], sum(pipe.execute()))
        finally:
            client.close()
    yield family


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    at_scrape = CollectorRegistry()
    at_scrape.register(_AtScrape())
    return generate_latest(registry) + generate_latest(at_scrape)


def allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    address = _client_address(request)
    if not address or not settings.METRICS_ALLOWED_NETWORKS:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS)


def _client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the address NUM_PROXIES hops back in X-Forwarded-For (as DRF and the login
    throttle read it): behind a proxy on the same host, REMOTE_ADDR is always the proxy's."""
    if settings.NUM_PROXIES:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        return hops[-min(settings.NUM_PROXIES, len(hops))] if hops else ""
    return str(request.META.get("REMOTE_ADDR", ""))


def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method != "GET" or not allowed(request):
        return json_error("not_found")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every request by the view that answered it (its URL name; `unmatched`
    for a 404 no route matched), so the label set stays small whatever URLs clients send."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.route or "unnamed") if match else "unmatched"
        if view != "metrics":
            LATENCY.labels(view, request.method).observe(time.perf_counter() - started)
            REQUESTS.labels(view, request.method, str(response.status_code)).inc()
        return response
