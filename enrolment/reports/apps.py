from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports: the coverage report and the running counts PostgreSQL keeps for it.

    An app of its own so Django imports its models, admin and Celery tasks (no star imports in
    enrolment/models.py, no CELERY_IMPORTS). Its models keep `app_label = "enrolment"`: their
    tables, migrations, content types and admin URLs are the enrolment app's, as they were before
    the package had an AppConfig (docs/decisions.md, "One shape for the code").
    """

    name = "enrolment.reports"
    label = "enrolment_reports"
    verbose_name = "Reports"
