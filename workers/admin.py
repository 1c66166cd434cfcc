from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from villages.admin import AdminOnlyMixin, ReadOnlyMixin, ScopedAdminMixin, staff
from villages.audit import Actor, mask_nik
from villages.auth import client_address
from workers.models import FundingSource, Occupation, Worker
from workers.permissions import audit_view


@admin.register(Occupation)
class OccupationAdmin(AdminOnlyMixin, admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "group", "sort_order", "active"]
    list_filter = ["group", "active"]
    search_fields = ["code", "name", "name_en"]


@admin.register(FundingSource)
class FundingSourceAdmin(AdminOnlyMixin, admin.ModelAdmin):
    list_display = ["code", "name", "public_budget", "self_paid", "active"]
    list_filter = ["public_budget", "self_paid", "active"]


@admin.register(Worker)
class WorkerAdmin(ReadOnlyMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Read-only here: workers change through the API, which validates, scopes and audits.
    Supervisors see the workers of their areas; NIKs are masked for everyone."""

    scope_field = "village__code"
    list_display = [
        "id",
        "full_name",
        "masked_nik",
        "village",
        "occupation",
        "needs_correction",
        "version",
        "updated_at",
        "deleted_at",
    ]
    list_filter = ["needs_correction", "occupation"]
    search_fields = ["id", "full_name"]
    list_select_related = ["village", "occupation"]
    exclude = ["nik", "kk_number", "heirs", "request_hash"]  # never shown unmasked in the admin
    readonly_fields = ["masked_nik"]
    show_full_result_count = False

    @admin.display(description=_("NIK"))
    def masked_nik(self, obj: Worker) -> str:
        return mask_nik(obj.nik)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:  # shown (not a redirect for a missing or hidden one)
            worker = self.get_queryset(request).filter(pk=object_id).only("village_id").first()
            if worker is not None:
                actor = Actor(user=staff(request), ip=client_address(request) or None)
                audit_view(actor, worker, full_nik=False, admin=True)  # the admin shows NIKs masked
        return response
