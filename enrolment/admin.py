from django.contrib import admin
from django.http import HttpRequest

from enrolment.models import ContributionDiscount, ContributionRule, Enrolment, IncomeBand


@admin.register(ContributionRule)
class ContributionRuleAdmin(admin.ModelAdmin):
    """Rates are data: correct one by closing its period (valid_to) and adding the new row."""

    list_display = [
        "segment",
        "program",
        "basis",
        "rate_bp",
        "flat_idr",
        "minimum_idr",
        "valid_from",
        "valid_to",
        "source",
    ]
    list_filter = ["segment", "program"]


@admin.register(IncomeBand)
class IncomeBandAdmin(admin.ModelAdmin):
    list_display = ["segment", "income_from", "base_idr", "valid_from", "valid_to", "source"]
    list_filter = ["segment"]


@admin.register(ContributionDiscount)
class ContributionDiscountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "segment",
        "programs",
        "percent",
        "occupation_groups",
        "self_paid_only",
        "valid_from",
        "valid_to",
    ]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ["id", "worker", "village", "status", "monthly_contribution", "registry_number", "updated_at"]
    list_filter = ["status", "segment", "funding_source", "budget_year"]
    search_fields = ["id", "worker__id", "registry_number"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Enrolment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Enrolment | None = None) -> bool:
        return False


import enrolment.registry.admin  # noqa: E402, F401  (the registry sync's console registers itself)
