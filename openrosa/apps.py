from django.apps import AppConfig


class OpenRosaConfig(AppConfig):
    """ODK Collect (and KoBoCollect) as a second field client, over OpenRosa 1.0."""

    name = "openrosa"
    default_auto_field = "django.db.models.BigAutoField"
