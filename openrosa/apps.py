from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpenRosaConfig(AppConfig):
    """ODK Collect (and KoBoCollect) as a second field client, over OpenRosa 1.0."""

    name = "openrosa"
    verbose_name = _("ODK forms (OpenRosa)")
    default_auto_field = "django.db.models.BigAutoField"
    # Its part of an erasure (the person's ODK attachments): settings.PRIVACY_ERASURE_STEPS must
    # list it (enrolment/privacy/erasure.py checks).
    erasure_step = "openrosa.erasure.OpenRosaAttachments"
