from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    """Imports: spreadsheet import jobs, processed in the background. Its models stay in the enrolment app (enrolment/apps.py says why)."""

    name = "enrolment.imports"
    label = "enrolment_imports"
    verbose_name = _("Imports")
    # Files of personal data sealed with config/pii.py that `manage.py reencrypt` re-seals.
    encrypted_files = ("enrolment.imports.uploads.UploadFiles", "enrolment.imports.invalid_rows.InvalidRowsFiles")
