# The offline-sync change clock (villages/sync_clock.py): its tables, functions and log triggers.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The SQL this migration applied, frozen here (it used to call villages.sync_clock, whose later
# edits must not change what an applied migration does on a fresh database). The technique:
# villages/sync_clock.py. The record tables' own triggers are in workers 0004 and enrolment 0008.
PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION sync_stamp_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sync_txid := pg_current_xact_id()::text::bigint;
    IF TG_OP = 'INSERT' THEN
        NEW.sync_created_txid := NEW.sync_txid;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION sync_stamp_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sync_txid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END $$;

-- TG_ARGV[0]: the sync table name ("workers", "enrolments").
CREATE OR REPLACE FUNCTION sync_log_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO villages_recordmove ("table", record_id, from_village, to_village)
    VALUES (TG_ARGV[0], OLD.id, OLD.village_id, NEW.village_id);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sync_log_assignment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO villages_scopechange (user_id, area_code, added) VALUES (NEW.user_id, NEW.area_id, true);
    ELSE
        INSERT INTO villages_scopechange (user_id, area_code, added) VALUES (OLD.user_id, OLD.area_id, false);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER villages_recordmove_stamp BEFORE INSERT ON villages_recordmove
    FOR EACH ROW EXECUTE FUNCTION sync_stamp_log();
CREATE TRIGGER villages_scopechange_stamp BEFORE INSERT ON villages_scopechange
    FOR EACH ROW EXECUTE FUNCTION sync_stamp_log();
CREATE TRIGGER villages_assignment_scope AFTER INSERT OR DELETE ON villages_assignment
    FOR EACH ROW EXECUTE FUNCTION sync_log_assignment();
"""

PG_DROP_FUNCTIONS = """
DROP TRIGGER IF EXISTS villages_assignment_scope ON villages_assignment;
DROP TRIGGER IF EXISTS villages_scopechange_stamp ON villages_scopechange;
DROP TRIGGER IF EXISTS villages_recordmove_stamp ON villages_recordmove;
DROP FUNCTION IF EXISTS sync_log_assignment();
DROP FUNCTION IF EXISTS sync_log_move();
DROP FUNCTION IF EXISTS sync_stamp_log();
DROP FUNCTION IF EXISTS sync_stamp_record();
"""

_SQLITE_TICK = "UPDATE villages_syncclock SET value = value + 1 WHERE id = 1;"
_SQLITE_NOW = "(SELECT value FROM villages_syncclock WHERE id = 1)"

SQLITE_FUNCTIONS = [
    "INSERT INTO villages_syncclock (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;",
    f"""CREATE TRIGGER villages_recordmove_stamp AFTER INSERT ON villages_recordmove BEGIN
        {_SQLITE_TICK}
        UPDATE villages_recordmove SET sync_txid = {_SQLITE_NOW} WHERE id = NEW.id;
    END;""",
    f"""CREATE TRIGGER villages_scopechange_stamp AFTER INSERT ON villages_scopechange BEGIN
        {_SQLITE_TICK}
        UPDATE villages_scopechange SET sync_txid = {_SQLITE_NOW} WHERE id = NEW.id;
    END;""",
    """CREATE TRIGGER villages_assignment_scope_added AFTER INSERT ON villages_assignment BEGIN
        INSERT INTO villages_scopechange (user_id, area_code, added, sync_txid) VALUES (NEW.user_id, NEW.area_id, 1, 0);
    END;""",
    """CREATE TRIGGER villages_assignment_scope_removed AFTER DELETE ON villages_assignment BEGIN
        INSERT INTO villages_scopechange (user_id, area_code, added, sync_txid) VALUES (OLD.user_id, OLD.area_id, 0, 0);
    END;""",
]

SQLITE_DROP_FUNCTIONS = [
    "DROP TRIGGER IF EXISTS villages_assignment_scope_removed;",
    "DROP TRIGGER IF EXISTS villages_assignment_scope_added;",
    "DROP TRIGGER IF EXISTS villages_scopechange_stamp;",
    "DROP TRIGGER IF EXISTS villages_recordmove_stamp;",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FUNCTIONS)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FUNCTIONS:
            schema_editor.execute(statement)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP_FUNCTIONS)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DROP_FUNCTIONS:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('villages', '0002_audit_event'),
    ]

    operations = [
        migrations.CreateModel(
            name='SyncClock',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('value', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='SyncSnapshot',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('snapshot', models.TextField()),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
        ),
        migrations.CreateModel(
            name='RecordMove',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('table', models.CharField(max_length=32)),
                ('record_id', models.CharField(max_length=64)),
                ('from_village', models.CharField(max_length=13)),
                ('to_village', models.CharField(max_length=13)),
                ('sync_txid', models.BigIntegerField(db_default=0, default=0, editable=False)),
            ],
            options={
                'indexes': [models.Index(fields=['sync_txid'], name='recordmove_txid')],
            },
        ),
        migrations.CreateModel(
            name='ScopeChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('area_code', models.CharField(max_length=13)),
                ('added', models.BooleanField()),
                ('sync_txid', models.BigIntegerField(db_default=0, default=0, editable=False)),
                ('user', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['user', 'sync_txid'], name='scopechange_user_txid')],
            },
        ),
        migrations.RunPython(install, remove),
    ]
