from django.apps import AppConfig


class PanelConfig(AppConfig):
    """The village admin panel (/panel/): server-rendered pages for people, on the same services
    and selectors as the API. It owns no models."""

    name = "panel"
    verbose_name = "Panel desa"
