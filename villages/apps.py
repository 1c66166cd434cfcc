from django.apps import AppConfig


class VillagesConfig(AppConfig):
    name = "villages"
    verbose_name = "Areas and officials"

    def ready(self) -> None:
        from config import lookups  # noqa: F401  (registers the `__any` lookup)
        from villages import schema  # noqa: F401  (registers the OpenAPI auth extension)
