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
from django.utils.translation import gettext_lazy as _

from enrolment.models import Enrolment
from villages.models import User
from workers.models import Worker


class DigestCredential(models.Model):
    user = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="digest_credential", verbose_name=_("user")
    )
    realm = models.CharField(max_length=100, verbose_name=_("realm"))
    ha1_md5 = models.CharField(max_length=32, verbose_name=_("HA1 hash (MD5)"))
    ha1_sha256 = models.CharField(max_length=64, verbose_name=_("HA1 hash (SHA-256)"))
    # sha256 of the password hash the HA1s were computed with: any other way the password
    # changes (an admin's set_unusable_password, a direct write) makes them stale.
    password_fingerprint = models.CharField(max_length=64, verbose_name=_("password fingerprint"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("digest credential")
        verbose_name_plural = _("digest credentials")
        constraints = [
            models.CheckConstraint(
                condition=Q(ha1_md5__regex=r"^[0-9a-f]{32}$") & Q(ha1_sha256__regex=r"^[0-9a-f]{64}$"),
                name="digest_credential_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"digest credential of user {self.user_id}"


class Submission(models.Model):
    instance_id = models.CharField(primary_key=True, max_length=100, verbose_name=_("instance ID"))
    # The instance this one edits (ODK's /meta/deprecatedID), when it is an edit.
    deprecated_id = models.CharField(max_length=100, blank=True, verbose_name=_("deprecated ID"))
    form_id = models.CharField(max_length=100, verbose_name=_("form ID"))
    form_version = models.CharField(max_length=50, blank=True, verbose_name=_("form version"))
    xml_sha256 = models.CharField(max_length=64, verbose_name=_("XML SHA-256 hash"))
    submitted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("submitted by")
    )
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="+", verbose_name=_("worker"))
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("enrolment")
    )
    needs_correction = models.BooleanField(default=False, verbose_name=_("needs correction"))
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
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

    instance_id = models.CharField(max_length=100, verbose_name=_("instance ID"))
    filename = models.CharField(max_length=255, verbose_name=_("filename"))
    content_type = models.CharField(max_length=100, verbose_name=_("content type"))
    size = models.PositiveIntegerField(verbose_name=_("size"))
    sha256 = models.CharField(max_length=64, verbose_name=_("SHA-256 hash"))
    data = models.BinaryField(verbose_name=_("data"))
    submitted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("submitted by")
    )
    worker = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("worker")
    )
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            models.UniqueConstraint(fields=["instance_id", "filename"], name="attachment_one_per_name"),
            models.CheckConstraint(condition=Q(size__gte=0) & ~Q(filename=""), name="attachment_named"),
        ]

    def __str__(self) -> str:
        return f"{self.instance_id}/{self.filename}"
