from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VillagesConfig(AppConfig):
    name = "villages"
    verbose_name = _("Areas and officials")

    def ready(self) -> None:
        from config import lookups  # noqa: F401  (registers the `__any` lookup)
        from villages import schema  # noqa: F401  (registers the OpenAPI auth extension)
