# Indexes every insert paid for and no query used (see below): the enrolment
# id's and worker id's varchar_pattern_ops indexes (the plain worker_id index stays), and the
# import row's job index (the unique (job, row_number) serves lookups by job).

import django.db.models.deletion
from django.db import migrations, models


# Dropping the LIKE indexes Django adds to text keys that nothing searches by prefix.
#
# On PostgreSQL Django gives every indexed varchar column a second index with
# varchar_pattern_ops, for `LIKE 'abc%'`. On client-generated ids (workers, enrolments) and the
# enrolment's worker id nothing filters that way (the admin's search is `icontains`, which no
# btree serves), yet every insert pays for the extra index (what it cost: docs/decisions.md,
# "Import speed"). A no-op on other databases.

# Frozen here (they used to come from config/pattern_indexes.py, so a later edit of that module
# could have changed what this applied migration does on a fresh database).
def drop_pattern_index(schema_editor, table, column):
    """Drops Django's varchar_pattern_ops twin of a column's index (PostgreSQL only)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [table, f"%({column} varchar_pattern_ops)"],
        )
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create_pattern_index(schema_editor, table, column):
    """The reverse: the index as Django would name and create it."""
    if schema_editor.connection.vendor != "postgresql":
        return
    name = schema_editor._create_index_name(table, [column], suffix="_like")
    schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}" varchar_pattern_ops)')


def drop(apps, schema_editor):
    drop_pattern_index(schema_editor, "enrolment_enrolment", "id")
    drop_pattern_index(schema_editor, "enrolment_enrolment", "worker_id")


def create(apps, schema_editor):
    create_pattern_index(schema_editor, "enrolment_enrolment", "id")
    create_pattern_index(schema_editor, "enrolment_enrolment", "worker_id")


class Migration(migrations.Migration):

    dependencies = [
        ("enrolment", "0010_created_on_device"),
    ]

    operations = [
        migrations.AlterField(
            model_name="importrow",
            name="job",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rows",
                to="enrolment.importjob",
            ),
        ),
        migrations.RunPython(drop, create),
    ]
