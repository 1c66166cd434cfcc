from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    """Registry sync: the outbox of batches to the central registry, its client, tasks and console. Its models stay in the enrolment app (enrolment/apps.py says why)."""

    name = "enrolment.registry"
    label = "enrolment_registry"
    verbose_name = _("Registry sync")
