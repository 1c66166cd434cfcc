"""The budget year in the operations console: read-only views, scoped like every admin. Decrees,
renewals, payments and claims are made through the API (its services keep the invariants)."""

from __future__ import annotations

from django.contrib import admin

from enrolment.funding.models import Claim, Payment, RegistryMessage, RenewalJob
from enrolment.models import FundingAllocation
from villages.admin import ReadOnlyMixin, ScopedAdminMixin


class ReadOnlyAdmin(ReadOnlyMixin, ScopedAdminMixin, admin.ModelAdmin):
    """The budget year's records, scoped to the staff member's areas; the services write them."""


@admin.register(FundingAllocation)
class FundingAllocationAdmin(ReadOnlyAdmin):
    scope_field = "area__code"
    list_display = ["decree_number", "area", "funding_source", "budget_year", "quota_workers", "committed_workers",
                    "amount_idr", "committed_idr"]  # fmt: skip
    list_filter = ["budget_year", "funding_source"]
    search_fields = ["decree_number"]


@admin.register(RenewalJob)
class RenewalJobAdmin(ReadOnlyAdmin):
    scope_field = "area__code"
    list_display = ["id", "area", "from_budget_year", "to_allocation", "dry_run", "status", "carried_count",
                    "left_out_count", "created_count", "created_at"]  # fmt: skip
    list_filter = ["status", "dry_run"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    scope_field = "allocation__area__code"
    list_display = ["reference", "allocation", "period_from", "period_to", "amount_idr", "enrolment_count", "paid_at"]
    search_fields = ["reference"]


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    scope_field = "village__code"
    list_display = ["id", "worker", "village", "program", "covered", "reason", "status", "status_changed_at"]
    list_filter = ["status", "program", "covered"]
    exclude = ["heirs"]  # personal data (possibly children's): read through the API, which masks it


@admin.register(RegistryMessage)
class RegistryMessageAdmin(ReadOnlyAdmin):
    scope_field = None  # operations data: admins only
    list_display = ["kind", "dedupe_key", "status", "attempts", "last_error", "created_at", "sent_at"]
    list_filter = ["kind", "status"]
    exclude = ["body"]  # payments name participants
