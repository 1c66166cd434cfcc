"""The operations console for the registry sync: batches with their records, a retry action for
failed ones, the reconciliation's cursor and log. Read-only otherwise: batches change only
through the services (the payload, which holds full NIKs, is never shown)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError
from enrolment.registry.models import RegistryBatch, RegistryBatchItem, RegistryChange, RegistryCursor
from enrolment.registry.services import registry_batch_retry
from villages.admin import json_field, staff
from villages.audit import Actor


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


ITEM_COLUMNS = ("position", "enrolment", "village", "outcome", "participant_number", "reason_code", "reason",
                "error_shown")  # fmt: skip


class RegistryBatchItemInline(admin.TabularInline):
    model = RegistryBatchItem
    fields = ITEM_COLUMNS
    readonly_fields = ITEM_COLUMNS
    ordering = ["position"]
    extra = 0
    can_delete = False
    show_change_link = False
    error_shown = json_field(RegistryBatchItem, "error")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RegistryBatch)
class RegistryBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "status",
        "record_count",
        "accepted_count",
        "duplicate_count",
        "rejected_count",
        "attempts",
        "failures",
        "next_attempt_at",
        "last_error_code",
        "created_at",
        "completed_at",
    ]
    list_filter = ["status", "last_error_code"]
    search_fields = ["id", "items__enrolment__id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    exclude = ["payload"]
    readonly_fields = [
        "id",
        "status",
        "record_count",
        "acknowledged",
        "attempts",
        "failures",
        "next_attempt_at",
        "last_attempt_at",
        "lease_owner",
        "lease_expires_at",
        "last_error_code",
        "last_error_message",
        "last_error_status",
        "last_error_details_shown",
        "last_error_at",
        "accepted_count",
        "duplicate_count",
        "rejected_count",
        "registry_ms",
        "created_at",
        "first_sent_at",
        "completed_at",
        "failed_at",
        "retried_at",
        "retried_by",
        "payload_rebuilt_at",
    ]
    inlines = [RegistryBatchItemInline]
    actions = ["retry_failed"]
    last_error_details_shown = json_field(RegistryBatch, "last_error_details")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields  # the raw JSON never, its masked form in its place

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_admin", False))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(getattr(request.user, "is_admin", False)) or super().has_view_permission(request, obj)

    @admin.action(description=_("Retry the selected failed batches"), permissions=["retry"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[RegistryBatch]) -> None:
        actor = Actor(user=staff(request))
        retried = skipped = 0
        for batch in queryset.only("id"):
            try:
                outcome = registry_batch_retry(actor=actor, batch_id=str(batch.id))
            except ServiceError:
                skipped += 1
                continue
            retried += outcome.retried
            skipped += not outcome.retried
        self.message_user(request, _("Batches sent again: %(n)d.") % {"n": retried}, messages.SUCCESS)
        if skipped:
            self.message_user(
                request, _("Batches left as they were (not failed): %(n)d.") % {"n": skipped}, messages.WARNING
            )


@admin.register(RegistryBatchItem)
class RegistryBatchItemAdmin(ReadOnlyAdmin):
    list_display = ["batch", "position", "enrolment", "village", "outcome", "participant_number", "reason_code"]
    list_filter = ["outcome", "reason_code"]
    search_fields = ["enrolment__id", "participant_number", "batch__id"]
    show_full_result_count = False
    exclude = ["error"]
    readonly_fields = ["error_shown"]
    error_shown = json_field(RegistryBatchItem, "error")


@admin.register(RegistryChange)
class RegistryChangeAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "participant_number", "ref", "status", "effective_date", "outcome", "note"]
    list_filter = ["outcome", "status"]
    search_fields = ["participant_number", "ref"]
    show_full_result_count = False


@admin.register(RegistryCursor)
class RegistryCursorAdmin(ReadOnlyAdmin):
    list_display = ["name", "value", "updated_at"]
