from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from villages.admin import AdminOnlyMixin, ReadOnlyMixin, ScopedAdminMixin, json_field, rupiah_field, staff
from villages.audit import Actor, mask_nik, mask_phone
from villages.auth import client_address
from workers.models import FundingSource, Occupation, Worker
from workers.permissions import audit_view
from workers.selectors import workers_by_nik


class NikSearchMixin:
    """Search by a whole NIK through the blind index (workers.selectors.workers_by_nik), as the
    API does: the NIK column is encrypted, so neither Django's icontains nor a scan could find
    it. Anything else searches `search_fields` as usual. `nik_path` leads to the worker."""

    nik_path = ""

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        by_nik = workers_by_nik(queryset, search_term.strip(), path=self.nik_path)
        if by_nik is not None:
            return by_nik, False
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]  # a mixin


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
class WorkerAdmin(NikSearchMixin, ReadOnlyMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Read-only here: workers change through the API, which validates, scopes and audits.
    Supervisors see the workers of their areas; NIKs and phones are masked for everyone, heirs
    too (villages.display), and the blind indexes are not shown at all."""

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
    search_fields = ["id", "full_name"]  # and a whole NIK (NikSearchMixin)
    search_help_text = _("A name, a record ID, or a whole NIK (16 digits).")
    list_select_related = ["village", "occupation"]
    # Never shown unmasked in the admin: the NIK, No. KK, phone, mother's maiden name, heirs
    # (shown masked instead), the blind indexes and the request hash.
    exclude = ["nik", "nik_bi", "kk_number", "kk_bi", "phone", "phone_bi", "mother_maiden_name", "heirs",
               "monthly_income", "warnings", "errors", "request_hash"]  # fmt: skip
    readonly_fields = ["masked_nik", "masked_kk", "masked_phone", "income_shown", "heirs_shown", "warnings_shown",
                       "errors_shown"]  # fmt: skip
    show_full_result_count = False
    income_shown = rupiah_field(Worker, "monthly_income")
    heirs_shown = json_field(Worker, "heirs")
    warnings_shown = json_field(Worker, "warnings")
    errors_shown = json_field(Worker, "errors")

    @admin.display(description=_("NIK"))
    def masked_nik(self, obj: Worker) -> str:
        return mask_nik(obj.nik)

    @admin.display(description=_("family card number (No. KK)"))
    def masked_kk(self, obj: Worker) -> str:
        return mask_nik(obj.kk_number)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Worker) -> str:
        return mask_phone(obj.phone)

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
