from django.apps import AppConfig


class FundingConfig(AppConfig):
    """The budget year: funding decrees (allocations), renewals, payments and lapse, deaths and
    claims. Its models stay in the enrolment app (enrolment/apps.py says why)."""

    name = "enrolment.funding"
    label = "enrolment_funding"
    verbose_name = "Funding, renewals, payments and claims"
