from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """Imports: spreadsheet import jobs and their row results, processed in the background.

    An app of its own so Django imports its models, admin and Celery tasks (no star imports in
    enrolment/models.py, no CELERY_IMPORTS). Its models keep `app_label = "enrolment"`: their
    tables, migrations, content types and admin URLs are the enrolment app's, as they were before
    the package had an AppConfig (docs/decisions.md, "One shape for the code").
    """

    name = "enrolment.imports"
    label = "enrolment_imports"
    verbose_name = "Imports"
