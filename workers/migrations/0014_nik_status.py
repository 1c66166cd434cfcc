# NIK status (API.md "Data quality"): where a worker's NIK stands, `pending` exactly when there is
# none yet. Rows without a NIK index (flagged records without a NIK) become `pending` before the
# constraints arrive. Adding fields and check constraints rebuilds workers_worker on SQLite,
# which drops its sync-clock triggers (see 0011): they are reinstalled at the end, from the SQL
# frozen in 0004. PostgreSQL alters in place and keeps its triggers, so nothing runs there.

import importlib
from typing import Any

from django.db import migrations, models

STAMP = importlib.import_module("workers.migrations.0004_sync_stamp")


def install_sqlite_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for statement in STAMP.SQLITE_REMOVE + STAMP.SQLITE_INSTALL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("workers", "0013_seed_privacy_notice"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="worker",
            name="worker_nik_bi_unique_live",
        ),
        migrations.RemoveConstraint(
            model_name="worker",
            name="worker_complete_unless_flagged",
        ),
        migrations.AddField(
            model_name="worker",
            name="nik_status",
            field=models.CharField(
                choices=[
                    ("unverified", "unverified"),
                    ("verified", "verified"),
                    ("not_found", "not found at Dukcapil"),
                    ("mismatch", "does not match Dukcapil"),
                    ("pending", "no NIK yet"),
                ],
                db_default="unverified",
                default="unverified",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="worker",
            name="nik_status_reason",
            field=models.CharField(blank=True, db_default="", default="", max_length=200),
        ),
        migrations.RunSQL("UPDATE workers_worker SET nik_status = 'pending' WHERE nik_bi = ''", migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="worker",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("deleted_at__isnull", True), ("needs_correction", False), models.Q(("nik_bi", ""), _negated=True)
                ),
                fields=("nik_bi",),
                name="worker_nik_bi_unique_live",
            ),
        ),
        migrations.AddConstraint(
            model_name="worker",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("needs_correction", True),
                    models.Q(
                        models.Q(("nik_bi__regex", "^[0-9a-f]{32}$"), ("nik_status", "pending"), _connector="OR"),
                        models.Q(("full_name", ""), _negated=True),
                        ("birth_date__isnull", False),
                        ("sex__in", ["M", "F"]),
                        ("occupation__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="worker_complete_unless_flagged",
            ),
        ),
        migrations.AddConstraint(
            model_name="worker",
            constraint=models.CheckConstraint(
                condition=models.Q(("nik_status__in", ["unverified", "verified", "not_found", "mismatch", "pending"])),
                name="worker_nik_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="worker",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("nik_bi", ""), ("nik_status", "pending")),
                    models.Q(
                        models.Q(("nik_status", "pending"), _negated=True), models.Q(("nik_bi", ""), _negated=True)
                    ),
                    _connector="OR",
                ),
                name="worker_nik_pending_iff_no_nik",
            ),
        ),
        migrations.AddConstraint(
            model_name="worker",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("nik_status__in", ("pending", "not_found", "mismatch")), ("nik_status_reason", ""), _connector="OR"
                ),
                name="worker_nik_reason",
            ),
        ),
        migrations.RunPython(install_sqlite_triggers, migrations.RunPython.noop),
    ]
