from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Reports: the coverage report and its running counts. Its models stay in the enrolment app (enrolment/apps.py says why)."""

    name = "enrolment.reports"
    label = "enrolment_reports"
    verbose_name = _("Reports")
