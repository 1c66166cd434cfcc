from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from villages.models import Area, AreaTarget, Assignment, AuditEvent, Device, User


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "kind", "postal_code", "active"]
    list_filter = ["level", "kind", "active"]
    search_fields = ["code", "name"]
    # Areas come from the Kemendagri source (manage.py load_areas); hand edits would be undone.
    readonly_fields = [
        "code",
        "name",
        "level",
        "kind",
        "parent",
        "postal_code",
        "source_decree",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Area | None = None) -> bool:
        return False


@admin.register(AreaTarget)
class AreaTargetAdmin(admin.ModelAdmin):
    list_display = ["area", "year", "target_workers", "budget_idr", "updated_by", "updated_at"]
    list_filter = ["year"]
    search_fields = ["area__code", "area__name"]
    autocomplete_fields = ["area"]
    readonly_fields = ["updated_by", "updated_at"]

    def save_model(self, request: HttpRequest, obj: AreaTarget, form: Any, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 1
    autocomplete_fields = ["area"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "full_name", "role", "is_active", "is_staff", "last_login"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "full_name", "email"]
    ordering = ["username"]
    inlines = [AssignmentInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Official"), {"fields": ("full_name", "email", "role")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "role", "password1", "password2")}),
    )


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "area", "created_at"]
    search_fields = ["user__username", "area__code", "area__name"]
    autocomplete_fields = ["user", "area"]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "device_id",
        "name",
        "app_version",
        "last_seen_at",
        "last_pull_at",
        "last_push_at",
        "revoked_at",
    ]
    search_fields = ["user__username", "device_id", "name"]
    readonly_fields = [f.name for f in Device._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only (the database refuses changes too)."""

    list_display = ["at", "actor_username", "action", "object_type", "object_id", "area_code"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_username", "object_id", "area_code"]
    date_hierarchy = "at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
