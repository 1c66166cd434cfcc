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

from config.pii import EncryptedJSONField
from villages.models import Device, User


class SyncQuarantine(models.Model):
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    table = models.CharField(max_length=32)  # "workers" or "enrolments"
    record_id = models.CharField(max_length=200)  # as sent, possibly not a valid id
    # The village the record names, or the official's first area: how admin scoping finds it.
    area_code = models.CharField(max_length=13, blank=True)
    # As pushed: personal data, encrypted at rest (config/pii.py) and shown masked in the admin.
    record = EncryptedJSONField()
    code = models.CharField(max_length=64)
    errors = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        app_label = "enrolment"  # see enrolment/apps.py
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["area_code", "created_at"], name="quarantine_area_created")]

    def __str__(self) -> str:
        return f"{self.table}/{self.record_id} ({self.code})"
