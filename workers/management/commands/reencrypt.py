"""`python manage.py reencrypt`: every stored token under the first FIELD_ENCRYPTION_KEYS key.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old one after it), restart
the service, run this (online; kill it and run it again at will), then `--check` says 0 and the
old key can be dropped. config/reencrypt.py explains how it stays safe under concurrent writes.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.reencrypt import TableProgress, encrypted_columns, encrypted_files, reencrypt_model, stale_rows


class Command(BaseCommand):
    help = "Re-encrypts every personal-data value under the first FIELD_ENCRYPTION_KEYS key (online, resumable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction.")
        parser.add_argument("--pause", type=float, default=0.0, help="Seconds to wait between batches.")
        parser.add_argument("--check", action="store_true", help="Only count the rows still under another key.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            counts = stale_rows()
            for label, count in counts.items():
                self.stdout.write(f"{label}: {count} under another key")
            if any(counts.values()):
                raise SystemExit(1)
            return

        def report(progress: TableProgress) -> None:
            self.stdout.write(f"{progress.label}: {progress.rows} rows re-encrypted so far")
            self.stdout.flush()

        for model, columns in encrypted_columns():
            done = reencrypt_model(
                model, columns, batch_size=options["batch_size"], pause=options["pause"], on_batch=report
            )
            self.stdout.write(
                f"{done.label}: {done.rows} rows re-encrypted, {done.skipped} changed meanwhile (already current)"
            )
        for files in encrypted_files():
            resealed, changed = files.reencrypt()
            self.stdout.write(
                f"{files.label}: {resealed} files re-encrypted, {changed} changed meanwhile or unreadable"
            )
