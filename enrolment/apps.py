from django.apps import AppConfig


class EnrolmentConfig(AppConfig):
    """Enrolments. Its sub-packages registry, imports, sync and reports are apps of their own (so
    Django imports their models, admin and commands, and Celery finds their tasks), but their
    models declare `app_label = "enrolment"`: tables, migrations, content types and admin URLs
    stay the enrolment app's, as before they had AppConfigs (docs/decisions.md, "One shape for
    the code"). A new model in those packages does the same."""

    name = "enrolment"
    verbose_name = "Enrolments"

    def ready(self) -> None:
        from config.metrics import register_scrape_collector
        from enrolment.metrics import database_gauges

        register_scrape_collector(database_gauges)
