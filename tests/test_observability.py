"""/metrics (access, what it counts, what it reads at scrape time), request ids, log masking."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid

import httpx
import redis
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config import requestid
from config.logmask import PersonalDataFilter, mask_text
from config.logs import JsonFormatter, RequestIdFilter
from config.requestid import _carry_into_message, _restore_in_worker
from enrolment.funding.models import JobStatus, RenewalJob
from enrolment.registry.client import HttpRegistryClient
from tests.conftest import GEDUNG_WANI, KAUR
from tests.funding.conftest import make_allocation
from villages.models import Role

TOKEN = "metrics-token-for-tests-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return samples(response.content.decode())


def test_metrics_answer_only_the_token_or_an_allowed_network(client, db, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").json()["error"]["code"] == "not_found"
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200

    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    # Behind one proxy, the proxy's own address does not open it: the client's does.
    settings.NUM_PROXIES = 1
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 200


def test_metrics_count_requests_by_view_logins_and_sync(api, make_user, client, settings):
    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)
    officer = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,), username="siti")
    api().post("/api/v1/auth/login", {"username": "siti", "password": "wrong", "device_id": "hp-1"}, format="json")
    assert api(officer).get("/api/v1/sync").status_code == 200
    api().get("/healthz")
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("enrolment_http_requests_total", view="healthz", method="GET", status="200") == 1
    assert grew("enrolment_http_request_duration_seconds_count", view="sync", method="GET") == 1
    assert grew("enrolment_login_failures_total", reason="invalid_credentials") == 1
    assert grew("enrolment_sync_pulls_total", kind="full") == 1
    assert grew("enrolment_http_requests_total", view="metrics", method="GET", status="200") == 0


def test_metrics_read_the_outbox_jobs_and_queues_at_scrape_time(client, db, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.CELERY_QUEUE_PREFIX = prefix = f"test-{uuid.uuid4().hex[:8]}."
    broker = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        broker.lpush(f"{prefix}registry", "a", "b")
        broker.lpush(f"{prefix}imports\x06\x163", "c")
        found = scrape(client)
    finally:
        broker.delete(f"{prefix}registry", f"{prefix}imports\x06\x163")
    assert found[("enrolment_celery_queue_length", (("queue", "registry"),))] == 2
    assert found[("enrolment_celery_queue_length", (("queue", "imports"),))] == 1
    assert found[("enrolment_celery_queue_length", (("queue", "reports"),))] == 0
    assert found[("enrolment_registry_outbox_depth", ())] == 0
    assert found[("enrolment_registry_outbox_oldest_age_seconds", ())] == 0
    assert found[("enrolment_registry_batches", (("status", "failed"),))] == 0
    assert found[("enrolment_import_jobs", (("status", "queued"),))] == 0


def test_metrics_count_renewal_jobs_what_the_running_ones_have_left_and_lost_leases(client, db, settings):
    settings.METRICS_TOKEN = TOKEN
    allocation = make_allocation()
    now = timezone.now()

    def job(**values) -> RenewalJob:
        return RenewalJob.objects.create(area_id=KAUR, from_budget_year=2025, to_allocation=allocation, **values)

    job(status=JobStatus.COMPLETED, dry_run=True)
    job(
        status=JobStatus.RUNNING,
        dry_run=False,
        total_rows=500,
        processed_rows=200,
        lease_until=now + dt.timedelta(minutes=1),
    )
    job(
        status=JobStatus.RUNNING,
        dry_run=False,
        total_rows=80,
        processed_rows=30,
        lease_until=now - dt.timedelta(minutes=1),
    )
    job(status=JobStatus.QUEUED, dry_run=False)

    found = scrape(client)

    assert found[("enrolment_renewal_jobs", (("dry_run", "true"), ("status", "completed")))] == 1
    assert found[("enrolment_renewal_jobs", (("dry_run", "false"), ("status", "completed")))] == 0
    assert found[("enrolment_renewal_jobs", (("dry_run", "false"), ("status", "running")))] == 2
    assert found[("enrolment_renewal_jobs", (("dry_run", "false"), ("status", "queued")))] == 1
    assert found[("enrolment_renewal_jobs", (("dry_run", "false"), ("status", "failed")))] == 0
    assert found[("enrolment_renewal_rows_remaining", ())] == 300 + 50
    assert found[("enrolment_renewal_jobs_lease_expired", ())] == 1


def test_a_request_id_is_answered_and_a_sane_one_from_the_client_kept(api, db):
    minted = api().get("/healthz")["X-Request-ID"]
    assert len(minted) == 32
    assert api().get("/healthz", HTTP_X_REQUEST_ID="proxy-1234abcd")["X-Request-ID"] == "proxy-1234abcd"
    injected = api().get("/healthz", HTTP_X_REQUEST_ID='x" level=ERROR')["X-Request-ID"]
    assert injected != 'x" level=ERROR'
    assert len(injected) == 32


def test_the_request_id_travels_through_a_task_message_and_the_registry_call():
    token = requestid._current.set("req-0123456789")
    try:
        headers: dict = {}
        _carry_into_message(headers=headers)
        assert headers == {"request_id": "req-0123456789"}
    finally:
        requestid._current.reset(token)

    class Task:
        class request:
            request_id = "req-0123456789"

    _restore_in_worker(task=Task())
    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("X-Request-ID"))
        return httpx.Response(200, json={"changes": [], "next_cursor": "c1", "has_more": False})

    client = HttpRegistryClient(
        base_url="http://registry.invalid",
        partner_id="p",
        api_key="k",
        connect_timeout=1,
        read_timeout=1,
        transport=httpx.MockTransport(answer),
    )
    assert client.changes(since="", limit=10).changes == ()
    assert sent == ["req-0123456789"]
    requestid._current.set("")


def test_log_lines_mask_niks_and_phone_numbers_and_carry_the_request_id():
    assert mask_text("NIK 1704014101900001 ditolak") == "NIK 170401********** ditolak"
    assert mask_text("hp 081234567890 / +6281234567890") == "hp 0812******** / +62812********"
    assert mask_text("batch 3 of 12, 1000 records, order 20261202") == "batch 3 of 12, 1000 records, order 20261202"

    token = requestid._current.set("req-abcdef012345")
    try:
        record = logging.LogRecord(
            "x", logging.WARNING, __file__, 1, "worker %s phone %s", ("1704014101900001", "0812-3456-7890"), None
        )
        RequestIdFilter().filter(record)
        PersonalDataFilter().filter(record)  # the handler's filters run before its formatter
        line = json.loads(JsonFormatter().format(record))
    finally:
        requestid._current.reset(token)
    assert line["request_id"] == "req-abcdef012345"
    assert line["message"] == "worker 170401********** phone 0812-****-****"
    assert line["level"] == "WARNING"
