"""An import's uploaded file, sealed at rest.

Stored as `imports/<job>.<format>.enc`, sealed whole with config/pii.py `encrypt_bytes` under the
first key, the job's id authenticated with it, from the moment it is stored: neither a running
job's file nor the one a failed job keeps for a retry (IMPORT_FAILED_FILE_DAYS) is plaintext on
disk. A job opens it into memory only while it reads it (`upload_open`). Memory is bounded by the
upload's size, which MAX_UPLOAD_BYTES caps (the body limit, config/middleware.py): sealing or
opening holds the file about twice for a moment (sealed and plain), then once while it is read.
An upload stored in plaintext before uploads were sealed (a job running across the deploy) still
opens: a file without the sealed header is read as it is. `manage.py reencrypt` re-seals kept
uploads under the first key, plaintext ones included (`UploadFiles`, declared on ImportsConfig).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from config.pii import DecryptionError, decrypt_bytes, encrypt_bytes
from enrolment.imports.models import ImportJob
from enrolment.imports.readers import UnreadableFile
from enrolment.imports.sealed import SealedJobFiles, is_sealed


def upload_context(job: ImportJob) -> str:
    return f"import-upload:{job.id}"


def upload_store(job: ImportJob, upload: UploadedFile, file_format: str) -> None:
    """Seals the upload and stores it as the job's file (the job is not saved)."""
    data = b"".join(upload.chunks())
    upload.seek(0)
    sealed = encrypt_bytes(data, context=upload_context(job))
    del data
    job.file.save(f"{job.id}.{file_format}.enc", ContentFile(sealed), save=False)


@contextmanager
def upload_open(job: ImportJob) -> Iterator[IO[bytes]]:
    """The job's upload, opened into memory for as long as the block reads it. Raises
    UnreadableFile when it no longer opens (a key since dropped, another job's file)."""
    with job.file.open("rb") as handle:
        blob = handle.read()
    if is_sealed(blob):
        try:
            data = decrypt_bytes(blob, context=upload_context(job))
        except DecryptionError:
            raise UnreadableFile(_("The stored file of this import no longer opens. Upload it again.")) from None
    else:
        data = blob  # stored in plaintext before uploads were sealed
    del blob
    buffer = io.BytesIO(data)  # shares `data` until written to (it never is)
    del data
    try:
        yield buffer
    finally:
        buffer.close()


def upload_discard(job: ImportJob, **still: Any) -> bool:
    """Deletes the job's upload (its job ended, or a failed job's file expired), if the job still
    matches `still` (e.g. is still failed). The name is read under the job's row lock and cleared
    in the same transaction, so a concurrent re-seal (`UploadFiles`) either loses its swap and
    deletes its new file, or wins and its new file is the one deleted here: none is left behind.
    Only the file column is written. Answers whether a file was deleted."""
    with transaction.atomic():
        name = (
            ImportJob.objects.select_for_update()
            .filter(pk=job.pk, **still)
            .exclude(file="")
            .values_list("file", flat=True)
            .first()
        )
        if not name:
            return False
        ImportJob.objects.filter(pk=job.pk).update(file="")
    job.file.storage.delete(name)
    job.file.name = ""
    return True


class UploadFiles(SealedJobFiles):
    """Kept uploads for `manage.py reencrypt`: re-sealed into `imports/<job>.<key id>.<format>.enc`."""

    label = "enrolment.ImportJob.file"
    field = "file"
    seal_plain = True

    def context(self, job: ImportJob) -> str:
        return upload_context(job)

    def target(self, job: ImportJob, key_id: str) -> str:
        return f"imports/{job.id}.{key_id}.{job.file_format}.enc"
