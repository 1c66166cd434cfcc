# SQLite (the embedded default) has no ALTER for most column changes: Django rebuilds the table
# (create new, copy, drop old, rename), and dropping the old table drops its triggers. Migrations
# 0007-0010 rebuilt workers_worker, so the sync-clock triggers of 0004 were gone and a device's
# pull saw no change at all. This reinstalls them, frozen from 0004. PostgreSQL alters in place
# and keeps its triggers, so nothing runs there. A later migration that rebuilds this table on
# SQLite must do the same; tests/test_sync_clock_triggers.py (in the SQLite run) catches it.

import importlib

from django.db import migrations

STAMP = importlib.import_module("workers.migrations.0004_sync_stamp")


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in STAMP.SQLITE_REMOVE + STAMP.SQLITE_INSTALL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("workers", "0010_data_subject_rights"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
