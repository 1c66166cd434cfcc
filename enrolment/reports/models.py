"""Running counts the coverage report reads.

A report over a province scans every enrolment and worker in it: far over its 300 ms target with
a million people (docs/measurements.md). So PostgreSQL keeps the counts itself: statement
triggers on `enrolment_enrolment` and `workers_worker` (migration enrolment 0006) append, for
each INSERT, UPDATE or DELETE statement, one row per group it changed, with the change
(+/- count and money). Rows are only ever appended, never updated, so writers take no locks on
them and never wait on each other or deadlock; `coverage_compact` (Celery beat, and after each
import) folds them into one row per group. The report sums them by area-code prefix: the same
GROUP BY as on the base tables, over a few thousand rows instead of millions.

Only rows that count are tracked: enrolments not deleted and not flagged, workers not deleted.

The same triggers also append each change summed by province (the `...ProvinceCount` tables,
enrolment migration 0021): the country report by province reads those, a few rows per province,
instead of every village's (83,762 villages: over its 2 s target, docs/national.md).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EnrolmentCounts(models.Model):
    """The counted columns of an enrolment count row, whatever area it is kept by."""

    budget_year = models.SmallIntegerField(verbose_name=_("budget year"))
    status = models.CharField(max_length=10, verbose_name=_("status"))
    funding_source = models.CharField(max_length=32, verbose_name=_("funding source"))
    n = models.BigIntegerField(verbose_name=_("count"))
    monthly = models.BigIntegerField(verbose_name=_("monthly amount (IDR)"))
    annual = models.BigIntegerField(verbose_name=_("annual amount (IDR)"))

    class Meta:
        abstract = True

    def counted(self) -> str:
        return f"{self.budget_year} {self.status} {self.funding_source}: {self.n:+d}"


class WorkerCounts(models.Model):
    """The counted columns of a worker count row, whatever area it is kept by."""

    occupation = models.CharField(max_length=32, verbose_name=_("occupation"))
    needs_correction = models.BooleanField(verbose_name=_("needs correction"))
    n = models.BigIntegerField(verbose_name=_("count"))

    class Meta:
        abstract = True

    def counted(self) -> str:
        return f"{self.occupation}: {self.n:+d}"


class CoverageEnrolmentCount(EnrolmentCounts):
    """+/- enrolments of a village, budget year (0: none), status and funding source ('': none)."""

    village = models.CharField(max_length=13, verbose_name=_("village"))

    class Meta:
        verbose_name = _("enrolment coverage count")
        verbose_name_plural = _("enrolment coverage counts")
        app_label = "enrolment"  # see enrolment/apps.py
        db_table = "enrolment_coverage_enrolment"

    def __str__(self) -> str:
        return f"{self.village} {self.counted()}"


class CoverageWorkerCount(WorkerCounts):
    """+/- workers of a village, occupation ('': none) and needs_correction."""

    village = models.CharField(max_length=13, verbose_name=_("village"))

    class Meta:
        verbose_name = _("worker coverage count")
        verbose_name_plural = _("worker coverage counts")
        app_label = "enrolment"  # see enrolment/apps.py
        db_table = "enrolment_coverage_worker"

    def __str__(self) -> str:
        return f"{self.village} {self.counted()}"


class CoverageEnrolmentProvinceCount(EnrolmentCounts):
    """+/- enrolments of a province (the village code's first two digits), budget year, status and
    funding source: the changes of CoverageEnrolmentCount summed by province."""

    province = models.CharField(max_length=2, verbose_name=_("province"))

    class Meta:
        verbose_name = _("enrolment coverage count by province")
        verbose_name_plural = _("enrolment coverage counts by province")
        app_label = "enrolment"
        db_table = "enrolment_coverage_enrolment_province"

    def __str__(self) -> str:
        return f"{self.province} {self.counted()}"


class CoverageWorkerProvinceCount(WorkerCounts):
    """+/- workers of a province, occupation and needs_correction: CoverageWorkerCount by province."""

    province = models.CharField(max_length=2, verbose_name=_("province"))

    class Meta:
        verbose_name = _("worker coverage count by province")
        verbose_name_plural = _("worker coverage counts by province")
        app_label = "enrolment"
        db_table = "enrolment_coverage_worker_province"

    def __str__(self) -> str:
        return f"{self.province} {self.counted()}"
