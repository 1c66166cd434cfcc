from django.contrib import admin
from django.http import HttpRequest

from workers.models import FundingSource, Occupation, Worker


@admin.register(Occupation)
class OccupationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "group", "sort_order", "active"]
    list_filter = ["group", "active"]
    search_fields = ["code", "name", "name_en"]


@admin.register(FundingSource)
class FundingSourceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "public_budget", "self_paid", "active"]
    list_filter = ["public_budget", "self_paid", "active"]


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """Read-only here: workers change through the API, which validates, scopes and audits."""

    list_display = [
        "id",
        "full_name",
        "village",
        "occupation",
        "needs_correction",
        "version",
        "updated_at",
        "deleted_at",
    ]
    list_filter = ["needs_correction", "occupation"]
    search_fields = ["id", "full_name"]
    exclude = ["nik", "kk_number", "heirs", "request_hash"]  # never shown unmasked in the admin
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Worker | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Worker | None = None) -> bool:
        return False
