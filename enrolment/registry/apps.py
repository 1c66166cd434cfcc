from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """Registry sync: the outbox of batches to the central registry, its client, tasks, console and the nightly reconciliation.

    An app of its own so Django imports its models, admin and Celery tasks (no star imports in
    enrolment/models.py, no CELERY_IMPORTS). Its models keep `app_label = "enrolment"`: their
    tables, migrations, content types and admin URLs are the enrolment app's, as they were before
    the package had an AppConfig (docs/decisions.md, "One shape for the code").
    """

    name = "enrolment.registry"
    label = "enrolment_registry"
    verbose_name = "Registry sync"
