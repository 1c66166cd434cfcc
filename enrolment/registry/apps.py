from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """Registry sync: the outbox of batches to the central registry, its client, tasks and console. Its models stay in the enrolment app (enrolment/apps.py says why)."""

    name = "enrolment.registry"
    label = "enrolment_registry"
    verbose_name = "Registry sync"
