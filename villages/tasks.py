"""Housekeeping of the areas app's tables (Celery beat, maintenance queue)."""

from __future__ import annotations

from celery import shared_task

from villages.partitions import maintain_partitions


@shared_task(name="villages.maintain_partitions", ignore_result=True)
def villages_maintain_partitions() -> dict[str, list[str]]:
    report = maintain_partitions()
    return {"created": list(report.created), "dropped": list(report.dropped)}
