"""What the OpenRosa endpoints keep beside the registrations they create.

- `DigestCredential`: HTTP Digest needs a password equivalent the server can compute with
  (RFC 7616's H(username:realm:password)); it is kept per algorithm, set whenever the password
  is set (openrosa.digest.DigestCredentialKeeper) and valid only while the password hash it was
  made with is the user's current one.
- `Submission`: one per ODK instanceID (the idempotency key), with the hash of the XML it came
  with, never the XML itself (it holds NIKs in clear), and the registration it became.
- `Attachment`: the files of a submission (the consent signature or thumbprint), in PostgreSQL.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from enrolment.models import Enrolment
from villages.models import User
from workers.models import Worker


class DigestCredential(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="digest_credential")
    realm = models.CharField(max_length=100)
    ha1_md5 = models.CharField(max_length=32)
    ha1_sha256 = models.CharField(max_length=64)
    # sha256 of the password hash the HA1s were computed with: any other way the password
    # changes (an admin's set_unusable_password, a direct write) makes them stale.
    password_fingerprint = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ha1_md5__regex=r"^[0-9a-f]{32}$") & Q(ha1_sha256__regex=r"^[0-9a-f]{64}$"),
                name="digest_credential_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"digest credential of user {self.user_id}"


class Submission(models.Model):
    instance_id = models.CharField(primary_key=True, max_length=100)
    # The instance this one edits (ODK's /meta/deprecatedID), when it is an edit.
    deprecated_id = models.CharField(max_length=100, blank=True)
    form_id = models.CharField(max_length=100)
    form_version = models.CharField(max_length=50, blank=True)
    xml_sha256 = models.CharField(max_length=64)
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", db_index=False)
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="+")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="+", db_index=False)
    needs_correction = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(xml_sha256__regex=r"^[0-9a-f]{64}$"), name="submission_xml_hash"),
            models.CheckConstraint(
                condition=~Q(deprecated_id=models.F("instance_id")), name="submission_not_self_edit"
            ),
        ]

    def __str__(self) -> str:
        return self.instance_id


class Attachment(models.Model):
    """A file of a submission. Parts of a split submission arrive before the registration
    exists: their files wait with `worker` null until the last part completes it."""

    instance_id = models.CharField(max_length=100)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", db_index=False)
    worker = models.ForeignKey(Worker, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance_id", "filename"], name="attachment_one_per_name"),
            models.CheckConstraint(condition=Q(size__gte=0) & ~Q(filename=""), name="attachment_named"),
        ]

    def __str__(self) -> str:
        return f"{self.instance_id}/{self.filename}"
