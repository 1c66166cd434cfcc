from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundingConfig(AppConfig):
    """The budget year: funding decrees (allocations), renewals, payments and lapse, deaths and
    claims. Its models stay in the enrolment app (enrolment/apps.py says why)."""

    name = "enrolment.funding"
    label = "enrolment_funding"
    verbose_name = _("Funding, renewals, payments and claims")
