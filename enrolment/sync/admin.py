"""The sync quarantine in the operations console: what devices pushed that could not be stored.

Supervisors see the records of their areas (NIK-like values masked, as in every list) and mark
them resolved once the record has been re-entered or the officer told; nobody edits or deletes
them (they are what the device sent)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrolment.sync.models import SyncQuarantine
from villages.admin import ScopedAdminMixin, json_field
from villages.audit import mask_nik
from villages.display import masked_json
from villages.models import Role

MASKED = ("nik", "kk_number")


def masked_record(record: Any) -> Any:
    if not isinstance(record, dict):
        return record
    shown = {k: mask_nik(v) if k in MASKED and isinstance(v, str) else v for k, v in record.items()}
    if isinstance(shown.get("heirs"), str):
        try:
            heirs = json.loads(shown["heirs"])
        except ValueError:
            return shown
        if isinstance(heirs, list):
            shown["heirs"] = [
                {**h, "nik": mask_nik(h.get("nik"))} if isinstance(h, dict) and isinstance(h.get("nik"), str) else h
                for h in heirs
            ]
    return shown


QUARANTINE_COLUMNS = ("created_at", "device", "user", "table", "record_id", "area_code", "code", "errors_shown",
                      "record_masked", "resolved_at", "resolved_by")  # fmt: skip


@admin.register(SyncQuarantine)
class SyncQuarantineAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_field = "area_code"
    change_roles = (Role.SUPERVISOR,)
    list_display = ["created_at", "table", "record_id", "code", "area_code", "user", "resolved_at"]
    list_filter = ["table", "code", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["record_id", "area_code"]
    fields = QUARANTINE_COLUMNS
    readonly_fields = QUARANTINE_COLUMNS
    actions = ["mark_resolved"]

    errors_shown = json_field(SyncQuarantine, "errors")

    @admin.display(description=_("record (NIK masked)"))
    def record_masked(self, obj: SyncQuarantine) -> str:
        return masked_json(masked_record(obj.record))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.action(description=_("Mark resolved"))
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[SyncQuarantine]) -> None:
        count = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now(), resolved_by=request.user)
        self.message_user(request, _("%(n)d records marked resolved.") % {"n": count}, messages.SUCCESS)
