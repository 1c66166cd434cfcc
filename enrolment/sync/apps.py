from django.apps import AppConfig


class SyncConfig(AppConfig):
    """Offline sync: the WatermelonDB pull and push, the sync quarantine. Its models stay in the enrolment app (enrolment/apps.py says why)."""

    name = "enrolment.sync"
    label = "enrolment_sync"
    verbose_name = "Offline sync"
