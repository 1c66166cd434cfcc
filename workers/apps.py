from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Workers"

    def ready(self) -> None:
        checks.register(_enrolment_rules_provided)


def _enrolment_rules_provided(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Fails `manage.py check` (and so start-up checks) when nothing answers workers.rules."""
    from workers.rules import enrolment_rules

    try:
        enrolment_rules()
    except ImproperlyConfigured as problem:
        return [checks.Error(str(problem), id="workers.E001")]
    return []
