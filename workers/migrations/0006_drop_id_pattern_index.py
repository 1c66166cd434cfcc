# The worker id's varchar_pattern_ops index: no query filters ids by prefix (see below).

from django.db import migrations


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
    drop_pattern_index(schema_editor, "workers_worker", "id")


def create(apps, schema_editor):
    create_pattern_index(schema_editor, "workers_worker", "id")


class Migration(migrations.Migration):

    dependencies = [
        ("workers", "0005_created_on_device"),
    ]

    operations = [migrations.RunPython(drop, create)]
