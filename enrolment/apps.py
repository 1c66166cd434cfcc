from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class EnrolmentConfig(AppConfig):
    """Enrolments. Its sub-packages registry, imports, sync and reports are apps of their own (so
    Django imports their models, admin and commands, and Celery finds their tasks), but their
    models declare `app_label = "enrolment"`: tables, migrations, content types and admin URLs
    stay the enrolment app's, as before they had AppConfigs (docs/decisions.md, "One shape for
    the code"). A new model in those packages does the same."""

    name = "enrolment"
    verbose_name = _("Enrolments")

    def ready(self) -> None:
        from config.metrics import register_scrape_collector
        from enrolment.metrics import database_gauges

        register_scrape_collector(database_gauges)
        checks.register(_erasure_steps_provided)


def _erasure_steps_provided(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Fails `manage.py check` (and so start-up checks) when the erasure steps are misconfigured."""
    from enrolment.privacy.erasure import erasure_steps

    try:
        erasure_steps()
    except ImproperlyConfigured as problem:
        return [checks.Error(str(problem), id="enrolment.E001")]
    return []
