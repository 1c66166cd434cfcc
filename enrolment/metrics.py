"""What /metrics reads from the database at scrape time (config.metrics explains the split):
the registry outbox (depth, records, oldest age, verified enrolments not yet claimed), batches by
status and import jobs by status. Each is one indexed query, cheap enough every 15 seconds."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric


def database_gauges() -> Iterable[Metric]:
    from enrolment.imports.models import ImportJob, ImportStatus
    from enrolment.models import Enrolment, Status
    from enrolment.registry.models import OPEN_BATCH_STATUSES, BatchStatus, RegistryBatch

    by_status = {row["status"]: row["n"] for row in RegistryBatch.objects.values("status").annotate(n=Count("id"))}
    batches = GaugeMetricFamily("enrolment_registry_batches", "Registry batches by status", labels=["status"])
    for status in BatchStatus.values:
        batches.add_metric([status], by_status.get(status, 0))
    yield batches

    open_batches = RegistryBatch.objects.filter(status__in=OPEN_BATCH_STATUSES).aggregate(
        records=Sum("record_count"), oldest=Min("created_at")
    )
    yield GaugeMetricFamily(
        "enrolment_registry_outbox_depth",
        "Batches on their way to the registry (pending, sending, polling)",
        value=sum(by_status.get(status, 0) for status in OPEN_BATCH_STATUSES),
    )
    yield GaugeMetricFamily(
        "enrolment_registry_outbox_records", "Enrolments in batches on their way", value=open_batches["records"] or 0
    )
    oldest = open_batches["oldest"]
    yield GaugeMetricFamily(
        "enrolment_registry_outbox_oldest_age_seconds",
        "Age of the oldest batch still on its way (0 when none is)",
        value=(timezone.now() - oldest).total_seconds() if oldest else 0,
    )
    yield GaugeMetricFamily(
        "enrolment_registry_unclaimed_enrolments",
        "Verified enrolments not yet claimed into a batch",
        value=Enrolment.objects.filter(status=Status.VERIFIED).count(),
    )

    jobs_by_status = {row["status"]: row["n"] for row in ImportJob.objects.values("status").annotate(n=Count("id"))}
    jobs = GaugeMetricFamily("enrolment_import_jobs", "Import jobs by status", labels=["status"])
    for status in ImportStatus.values:
        jobs.add_metric([status], jobs_by_status.get(status, 0))
    yield jobs
