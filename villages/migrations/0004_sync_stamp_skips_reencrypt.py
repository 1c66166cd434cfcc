# `manage.py reencrypt` (config/reencrypt.py) rewrites rows with the same values under a new key:
# with `pii.reencrypt` set in its transaction, the stamping trigger leaves the sync stamp alone,
# so devices fetch nothing again and their pushes see no conflict. PostgreSQL only; SQLite's
# triggers (the embedded mode) still stamp, which costs a device one fuller pull.

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION sync_stamp_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('pii.reencrypt', true) = 'on' THEN
        RETURN NEW;
    END IF;
    NEW.sync_txid := pg_current_xact_id()::text::bigint;
    IF TG_OP = 'INSERT' THEN
        NEW.sync_created_txid := NEW.sync_txid;
    END IF;
    RETURN NEW;
END $$;
"""

PREVIOUS = """
CREATE OR REPLACE FUNCTION sync_stamp_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sync_txid := pg_current_xact_id()::text::bigint;
    IF TG_OP = 'INSERT' THEN
        NEW.sync_created_txid := NEW.sync_txid;
    END IF;
    RETURN NEW;
END $$;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [
        ("villages", "0004_partition_audit_and_snapshots"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
