from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = _("Workers")

    def ready(self) -> None:
        checks.register(_enrolment_rules_provided)
        # Workers' personal data is encrypted (config/pii.py): without its keys no process may
        # start (gunicorn, Celery, manage.py), with a message naming the missing or bad one.
        from config.pii import validate_keys

        validate_keys()


def _enrolment_rules_provided(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Fails `manage.py check` (and so start-up checks) when nothing answers workers.rules."""
    from workers.rules import enrolment_rules

    try:
        enrolment_rules()
    except ImproperlyConfigured as problem:
        return [checks.Error(str(problem), id="workers.E001")]
    return []
