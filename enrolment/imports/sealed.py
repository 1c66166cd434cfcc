"""An import job's files sealed at rest with config/pii.py `encrypt_bytes`, as `manage.py
reencrypt` sees them (config.reencrypt.EncryptedFiles): the upload (uploads.py) and the invalid
rows' spreadsheet (invalid_rows.py), each a file field of ImportJob bound to the job's id.

A file under an old key is sealed again under the first key into a new name, the job is pointed
at it only if it still names the old file (compare and swap: a prune, the job's end or a
concurrent re-seal wins), then the old file is deleted. Killed halfway, the job still names a
whole file that opens (old or new); a new file left without its job is replaced on the next run.
Run twice, the second finds nothing to do.
"""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile

from config import pii
from config.pii import DecryptionError, decrypt_bytes, encrypt_bytes
from enrolment.imports.models import ImportJob

HEAD_BYTES = len(pii.FILE_MAGIC) + pii.KEY_ID_LENGTH


def is_sealed(head: bytes) -> bool:
    """Whether a stored file begins as one `encrypt_bytes` wrote."""
    return head[: len(pii.FILE_MAGIC)] == pii.FILE_MAGIC


class SealedJobFiles:
    """One file field of ImportJob. `seal_plain`: a file stored in plaintext before the field was
    sealed is counted as stale and sealed too (uploads: a job running or failed across the
    deploy); otherwise it is left to its reader (the invalid rows' download deletes it)."""

    label: str
    field: str
    seal_plain = False

    def context(self, job: ImportJob) -> str:
        raise NotImplementedError

    def target(self, job: ImportJob, key_id: str) -> str:
        """The storage name of the re-sealed file."""
        raise NotImplementedError

    def _kept(self) -> Any:
        return ImportJob.objects.exclude(**{self.field: ""}).order_by("id")

    def _file(self, job: ImportJob) -> Any:
        return getattr(job, self.field)

    def _stale(self, job: ImportJob, current: str) -> bool:
        try:
            with self._file(job).open("rb") as handle:
                head = handle.read(HEAD_BYTES)
        except FileNotFoundError:
            return False  # gone from disk: nothing to re-seal
        if is_sealed(head):
            return pii.bytes_key_id(head) != current
        return self.seal_plain

    def stale(self) -> int:
        """Kept files under another key than the first (or plain, with `seal_plain`)."""
        current = pii.keyring().current_id
        return sum(1 for job in self._kept().iterator() if self._stale(job, current))

    def reencrypt(self) -> tuple[int, int]:
        """(files re-sealed, files a concurrent writer changed first or that do not open)."""
        current = pii.keyring().current_id
        done = skipped = 0
        for job in self._kept().iterator():
            if not self._stale(job, current):
                continue
            field = self._file(job)
            old_name, storage = field.name, field.storage
            try:
                with field.open("rb") as handle:
                    blob = handle.read()
            except FileNotFoundError:
                skipped += 1  # deleted meanwhile (the job ended)
                continue
            if is_sealed(blob):
                try:
                    body = decrypt_bytes(blob, context=self.context(job))
                except DecryptionError:
                    skipped += 1  # not openable: its reader deletes it, the prune too
                    continue
            else:
                body = blob  # stored in plaintext before this field was sealed
            del blob
            target = self.target(job, current)
            if storage.exists(target):
                storage.delete(target)  # left by a run killed before its swap
            new_name = storage.save(target, ContentFile(encrypt_bytes(body, context=self.context(job))))
            del body
            if ImportJob.objects.filter(pk=job.pk, **{self.field: old_name}).update(**{self.field: new_name}):
                storage.delete(old_name)
                done += 1
            else:
                storage.delete(new_name)
                skipped += 1
        return done, skipped
