from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyncConfig(AppConfig):
    """Offline sync: the WatermelonDB pull and push, the sync quarantine. Its models stay in the enrolment app (enrolment/apps.py says why)."""

    name = "enrolment.sync"
    label = "enrolment_sync"
    verbose_name = _("Offline sync")
