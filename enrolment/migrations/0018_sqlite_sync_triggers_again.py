# SQLite (the embedded default) rebuilds a table for most column changes, and dropping the old
# table drops its triggers: migrations after 0008 rebuilt enrolment_enrolment, so its sync-clock
# triggers were gone. This reinstalls them, frozen from 0008 (the allocation counters of 0013
# came after the rebuild and survived). PostgreSQL alters in place; nothing runs there.
# See workers 0011 for the same repair on workers_worker.

import importlib

from django.db import migrations

STAMP = importlib.import_module("enrolment.migrations.0008_sync_stamp")


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in STAMP.SQLITE_REMOVE + STAMP.SQLITE_INSTALL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("enrolment", "0017_encrypt_registry_bodies_and_quarantine"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
