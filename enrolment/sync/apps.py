from django.apps import AppConfig


class SyncConfig(AppConfig):
    """Offline sync: the WatermelonDB pull and push for field devices, and the sync quarantine.

    An app of its own so Django imports its models, admin and Celery tasks (no star imports in
    enrolment/models.py, no CELERY_IMPORTS). Its models keep `app_label = "enrolment"`: their
    tables, migrations, content types and admin URLs are the enrolment app's, as they were before
    the package had an AppConfig (docs/decisions.md, "One shape for the code").
    """

    name = "enrolment.sync"
    label = "enrolment_sync"
    verbose_name = "Offline sync"
