"""The budget year in the operations console: read-only views, scoped like every admin. Decrees,
renewals, payments and claims are made through the API (its services keep the invariants)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from enrolment.funding.models import Claim, Payment, RegistryMessage, RenewalJob
from enrolment.models import FundingAllocation
from villages.admin import ReadOnlyMixin, ScopedAdminMixin, json_field, rupiah_field
from villages.display import masked_json


class ReadOnlyAdmin(ReadOnlyMixin, ScopedAdminMixin, admin.ModelAdmin):
    """The budget year's records, scoped to the staff member's areas; the services write them."""


@admin.register(FundingAllocation)
class FundingAllocationAdmin(ReadOnlyAdmin):
    scope_field = "area__code"
    list_display = ["decree_number", "area", "funding_source", "budget_year", "quota_workers", "committed_workers",
                    "amount_shown", "committed_shown"]  # fmt: skip
    list_filter = ["budget_year", "funding_source"]
    search_fields = ["decree_number"]
    exclude = ["amount_idr"]
    readonly_fields = ["amount_shown", "committed_shown"]
    amount_shown = rupiah_field(FundingAllocation, "amount_idr")
    committed_shown = rupiah_field(FundingAllocation, "committed_idr")


@admin.register(RenewalJob)
class RenewalJobAdmin(ReadOnlyAdmin):
    scope_field = "area__code"
    list_display = ["id", "area", "from_budget_year", "to_allocation", "dry_run", "status", "carried_count",
                    "left_out_count", "created_count", "cost_shown", "created_at"]  # fmt: skip
    list_filter = ["status", "dry_run"]
    exclude = ["cost_idr", "left_out_by_reason"]
    readonly_fields = ["cost_shown", "left_out_shown"]
    cost_shown = rupiah_field(RenewalJob, "cost_idr")
    left_out_shown = json_field(RenewalJob, "left_out_by_reason")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    scope_field = "allocation__area__code"
    list_display = ["reference", "allocation", "period_from", "period_to", "amount_shown", "enrolment_count", "paid_at"]
    search_fields = ["reference"]
    exclude = ["amount_idr", "request_hash"]
    readonly_fields = ["amount_shown"]
    amount_shown = rupiah_field(Payment, "amount_idr")


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    scope_field = "village__code"
    list_display = ["id", "worker", "village", "program", "covered", "reason", "status", "amount_shown",
                    "status_changed_at"]  # fmt: skip
    list_filter = ["status", "program", "covered"]
    # The heirs are personal data (possibly children's): shown masked, as the API shows them.
    exclude = ["heirs", "checklist", "amount_idr"]
    readonly_fields = ["amount_shown", "checklist_shown", "heirs_shown"]
    amount_shown = rupiah_field(Claim, "amount_idr")
    checklist_shown = json_field(Claim, "checklist")
    heirs_shown = json_field(Claim, "heirs")


@admin.register(RegistryMessage)
class RegistryMessageAdmin(ReadOnlyAdmin):
    scope_field = None  # operations data: admins only
    list_display = ["kind", "dedupe_key", "status", "attempts", "last_error", "created_at", "sent_at"]
    list_filter = ["kind", "status"]
    # The request body names participants (payments, claims): shown parsed and masked.
    exclude = ["body", "answer"]
    readonly_fields = ["body_shown", "answer_shown"]
    answer_shown = json_field(RegistryMessage, "answer")

    @admin.display(description=_("body"))
    def body_shown(self, obj: RegistryMessage) -> str:
        try:
            body = json.loads(obj.body)
        except ValueError:
            body = obj.body
        return masked_json(body)
