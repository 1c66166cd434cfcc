from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from villages import display, selectors, services
from villages.models import Area, AreaTarget, Assignment, AuditEvent, Device, Role, User
from villages.records import bookkeeping_last
from villages.scope import scope_of


def _shown(model: type[Model], name: str, show: Callable[[Any], Any], order: bool) -> Any:
    def column(self: Any, obj: Model) -> Any:
        return show(getattr(obj, name))

    column.__name__ = f"{name}_shown"
    label = getattr(model._meta.get_field(name), "verbose_name", name)  # the field's own (translated) name
    return admin.display(description=label, ordering=name if order else None)(column)


def rupiah_field(model: type[Model], name: str) -> Any:
    """An amount column or read-only field as rupiah (`Rp 16.800`), titled by the field's name:
    `amount_shown = rupiah_field(Payment, "amount_idr")`, then "amount_shown" in list_display."""
    return _shown(model, name, display.rupiah, order=True)


def json_field(model: type[Model], name: str, *, short: bool = False) -> Any:
    """A JSON field shown readably and masked (villages.display.masked_json): never its raw
    text, which may hold NIKs and phones. `short` makes a one-line changelist column."""
    return _shown(model, name, display.masked_json_short if short else display.masked_json, order=False)


def programs_field(model: type[Model], name: str, labels: Mapping[str, Any]) -> Any:
    """A list of program codes (["JKK", "JKM"]) by the programs' names (`labels`, the choices)."""
    return _shown(model, name, lambda codes: display.program_names(codes, labels), order=False)


def staff(request: HttpRequest) -> User:
    """The official using the console. The admin site lets only signed-in staff through to a
    ModelAdmin, so anything else here is refused rather than trusted."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


class ScopedAdminMixin:
    """The Django admin as the operations console: permissions by role, rows by area.

    Admins (superusers or role admin) see and manage everything. Roles in `view_roles` (staff
    supervisors by default) see only the rows inside their areas, read-only unless their role is
    in `change_roles`; everyone else sees nothing. Rows are scoped with `villages.scope` through
    `scope_field`, a lookup path ending at an area code ("code", "village__code", "area__code",
    "area_code"); None means the model is not area data and only admins may open it. An object
    outside the caller's areas is as absent as in the API (the admin answers 404).

    Reusable by every app's admin: `class BatchAdmin(ScopedAdminMixin, admin.ModelAdmin)` with
    `scope_field = "village__code"` (or whatever leads to an area code).
    """

    scope_field: str | None = None
    view_roles: tuple[str, ...] = (Role.SUPERVISOR,)
    change_roles: tuple[str, ...] = ()

    def _role_may(self, request: HttpRequest, roles: tuple[str, ...]) -> bool:
        user = request.user
        if not (isinstance(user, User) and user.is_active and user.is_staff):
            return False
        return bool(user.is_admin or (self.scope_field is not None and user.role in roles))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A client record's own fields first, its bookkeeping after them (villages/records.py).
        return bookkeeping_last(super().get_fields(request, obj))  # type: ignore[misc]  # a mixin: ModelAdmin comes after it

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)  # type: ignore[misc]  # a mixin: ModelAdmin comes after it
        if staff(request).is_admin:
            return queryset
        if self.scope_field is None:
            return queryset.none()
        return scope_of(staff(request)).filter(queryset, self.scope_field)

    def object_area(self, obj: Model) -> str | None:
        """The area code of `obj` along `scope_field`, read from loaded columns where possible."""
        assert self.scope_field is not None
        parts = self.scope_field.split("__")
        node: Any = obj
        if len(parts) >= 2 and parts[-1] == "code":
            for part in parts[:-2]:
                node = getattr(node, part)
            return getattr(node, parts[-2] + "_id")
        for part in parts:
            node = getattr(node, part)
        return node

    def _covers(self, request: HttpRequest, obj: Model | None) -> bool:
        if obj is None or staff(request).is_admin:
            return True
        return self.scope_field is not None and scope_of(staff(request)).covers(self.object_area(obj))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._role_may(request, self.view_roles)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._role_may(request, self.view_roles) and self._covers(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._role_may(request, self.change_roles) and self._covers(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._role_may(request, self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        user = request.user
        return isinstance(user, User) and user.is_active and user.is_staff and user.is_admin


class AdminOnlyMixin(ScopedAdminMixin):
    """Reference data and settings: admins only (role admin or superuser)."""

    scope_field = None


class ReadOnlyMixin:
    """Nothing is added, changed or deleted through the admin: the services write these records
    (the audit log, the enrolments' workflow, the budget year's jobs and messages)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Area)
class AreaAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_field = "code"
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

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(AreaTarget)
class AreaTargetAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_field = "area__code"
    change_roles = (Role.SUPERVISOR,)  # supervisors set their areas' targets (API.md)
    list_display = ["area", "year", "target_workers", "budget_shown", "updated_by", "updated_at"]
    list_filter = ["year"]
    search_fields = ["area__code", "area__name"]
    autocomplete_fields = ["area"]
    readonly_fields = ["updated_by", "updated_at"]
    budget_shown = rupiah_field(AreaTarget, "budget_idr")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "area":
            # The form refuses an area outside the caller's scope, whatever the widget sent.
            kwargs["queryset"] = scope_of(staff(request)).filter(Area.objects.all(), "code")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: AreaTarget, form: Any, change: bool) -> None:
        obj.updated_by = staff(request)
        super().save_model(request, obj, form, change)


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 1
    autocomplete_fields = ["area"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(staff(request).is_admin or staff(request).role == Role.SUPERVISOR)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(staff(request).is_admin)

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


@admin.register(User)
class UserAdmin(ScopedAdminMixin, DjangoUserAdmin):
    """Admins manage officials here; supervisors see those of their areas (they manage them
    through the API, which applies the rules of who may assign what)."""

    scope_field = "assignments__area__code"
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        if staff(request).is_admin:
            return super(ScopedAdminMixin, self).get_queryset(request)
        if not self.has_module_permission(request):
            return User.objects.none()
        return selectors.users_in_scope(scope=scope_of(staff(request)))

    def _covers(self, request: HttpRequest, obj: Model | None) -> bool:
        if obj is None or staff(request).is_admin:
            return True
        return isinstance(obj, User) and services.user_in_scope(user=obj, scope=scope_of(staff(request)))


@admin.register(Assignment)
class AssignmentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_field = "area__code"
    list_display = ["user", "area", "created_at"]
    search_fields = ["user__username", "area__code", "area__name"]
    autocomplete_fields = ["user", "area"]


@admin.register(Device)
class DeviceAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Devices of the officials the caller manages; revoking one ends its token at once."""

    scope_field = "user__assignments__area__code"
    actions = ["revoke"]
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        if not staff(request).is_admin and not self.has_module_permission(request):
            return Device.objects.none()
        return selectors.device_list(user=staff(request))

    def _covers(self, request: HttpRequest, obj: Model | None) -> bool:
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return self._role_may(request, (Role.SUPERVISOR,))

    @admin.action(description=_("Revoke the selected devices (log them out)"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        for device in queryset:
            services.device_revoke(actor=staff(request), device=device)
        self.message_user(request, _("%(n)d devices revoked.") % {"n": len(queryset)}, messages.SUCCESS)


AUDIT_COLUMNS = ("at", "actor", "actor_username", "device", "ip", "action", "object_type", "object_id", "area_code",
                 "changes_shown", "context_shown")  # fmt: skip


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Read-only: the log is append-only (the database refuses changes too). Supervisors see
    the events of their areas."""

    scope_field = "area_code"
    list_display = ["at", "actor_username", "action", "object_type", "object_id", "area_code"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_username", "object_id", "area_code"]
    date_hierarchy = "at"
    show_full_result_count = False
    # The JSON columns readably and masked (they are masked when written; shown masked again in
    # case an older row was not).
    fields = AUDIT_COLUMNS
    readonly_fields = AUDIT_COLUMNS
    changes_shown = json_field(AuditEvent, "changes")
    context_shown = json_field(AuditEvent, "context")
