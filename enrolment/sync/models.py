"""Records a device pushed that the server could not store even as `needs_correction`.

A field error never loses a record: it is stored flagged and goes back to the device. But some
records cannot be stored at all: a village outside the officer's areas, an id held by a record in
another village, an enrolment for a person the server does not have, an edit of an enrolment the
registry already holds. Refusing the whole push for them would block the device for ever (it
resends the same changes), and dropping them would lose the officer's work silently. They are
kept here, raw, for an operator or supervisor to resolve, and the push answers which ones.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from config.pii import EncryptedJSONField
from villages.models import Device, User


class SyncQuarantine(models.Model):
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("device")
    )
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("user")
    )
    table = models.CharField(max_length=32, verbose_name=_("table"))  # "workers" or "enrolments"
    record_id = models.CharField(max_length=200, verbose_name=_("record ID"))  # as sent, possibly not a valid id
    # The village the record names, or the official's first area: how admin scoping finds it.
    area_code = models.CharField(max_length=13, blank=True, verbose_name=_("area code"))
    # As pushed: personal data, encrypted at rest (config/pii.py) and shown masked in the admin.
    record = EncryptedJSONField(verbose_name=_("record"))
    code = models.CharField(max_length=64, verbose_name=_("code"))
    errors = models.JSONField(default=dict, blank=True, verbose_name=_("errors"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    resolved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("resolved by")
    )

    class Meta:
        verbose_name = _("quarantined sync record")
        verbose_name_plural = _("quarantined sync records")
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["area_code", "created_at"], name="quarantine_area_created")]

    def __str__(self) -> str:
        return f"{self.table}/{self.record_id} ({self.code})"
