"""What /metrics reads from the database at scrape time (config.metrics explains the split):
the registry outbox (depth, records, oldest age, verified enrolments not yet claimed), batches by
status, import jobs by status and renewal jobs (by status, the rows a running one has left, and
running ones whose lease ran out: their worker died and the sweeper has not taken them up yet).
Each is one small query, cheap enough every 15 seconds."""

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

    yield from renewal_gauges()


def renewal_gauges() -> Iterable[Metric]:
    from enrolment.funding.models import JobStatus, RenewalJob

    now = timezone.now()
    by_status = {
        (row["status"], row["dry_run"]): row["n"]
        for row in RenewalJob.objects.values("status", "dry_run").annotate(n=Count("id"))
    }
    jobs = GaugeMetricFamily(
        "enrolment_renewal_jobs", "Renewal jobs by status (dry runs apart)", labels=["status", "dry_run"]
    )
    for status in JobStatus.values:
        for dry_run in (False, True):
            jobs.add_metric([status, str(dry_run).lower()], by_status.get((status, dry_run), 0))
    yield jobs

    running = RenewalJob.objects.filter(status=JobStatus.RUNNING).aggregate(
        total=Sum("total_rows"), processed=Sum("processed_rows")
    )
    yield GaugeMetricFamily(
        "enrolment_renewal_rows_remaining",
        "Rows the running renewal jobs have still to process",
        value=(running["total"] or 0) - (running["processed"] or 0),
    )
    # A lease that ran out on a running job means its worker died mid-run: the sweeper takes it
    # up again, so a value that stays above 0 means the sweeper (beat) is not running.
    yield GaugeMetricFamily(
        "enrolment_renewal_jobs_lease_expired",
        "Running renewal jobs whose lease ran out (their worker died; waiting for the sweeper)",
        value=RenewalJob.objects.filter(status=JobStatus.RUNNING, lease_until__lt=now).count(),
    )
