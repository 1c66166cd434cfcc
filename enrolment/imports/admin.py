"""Import jobs in the operations console: read-only, scoped like every admin, only the problem rows."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from enrolment.imports.models import ImportJob, ImportRow
from villages.admin import ScopedAdminMixin, json_field

ROW_COLUMNS = ("row_number", "result", "worker_id", "enrolment_id", "nik_masked", "error_shown")


class ImportRowInline(admin.TabularInline):
    model = ImportRow
    fields = ROW_COLUMNS
    readonly_fields = ROW_COLUMNS
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    error_shown = json_field(ImportRow, "error")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportRow]:
        # Only the problems: a job may have 80,000 rows (all of them: GET /api/v1/imports/{id}/rows).
        return super().get_queryset(request).filter(result="invalid")


@admin.register(ImportJob)
class ImportJobAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_field = "area_code"
    list_display = ["filename", "created_by", "created_at", "status", "dry_run", "total_rows",
                    "created_count", "updated_count", "unchanged_count", "invalid_count"]  # fmt: skip
    list_filter = ["status", "dry_run"]
    readonly_fields = [f.name for f in ImportJob._meta.fields if f.name != "file"]
    exclude = ["file"]
    inlines = [ImportRowInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
