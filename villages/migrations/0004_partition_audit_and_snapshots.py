# The audit log and the sync snapshots become tables partitioned by month (PostgreSQL's native
# range partitioning), so they can grow to hundreds of millions of rows and old months can be
# dropped whole (villages/partitions.py creates months ahead and applies the retention).
#
# What changes in the database, not in Django's state: the primary key becomes (id, <month
# column>) (a partitioned table's unique keys must hold the partition column); `id` draws from a
# sequence instead of an identity column (PostgreSQL 15 has no identity on partitioned tables);
# every index keeps its name and definition; the audit log's append-only trigger is defined on the
# parent, so PostgreSQL puts it on every partition, present and future. Existing rows are copied
# (one INSERT … SELECT); on a large existing log run the migration in a maintenance window.
# The SQL is frozen here, like every applied migration's. SQLite (the embedded mode) is untouched.

from django.db import migrations

TABLES = (("villages_auditevent", "at"), ("villages_syncsnapshot", "created_at"))
AHEAD_MONTHS = 3

APPEND_ONLY_TRIGGER = """
CREATE TRIGGER villages_auditevent_no_update BEFORE UPDATE OR DELETE ON villages_auditevent
    FOR EACH ROW EXECUTE FUNCTION villages_auditevent_append_only();
"""


def _month_partitions(cursor, table, column):
    """Monthly partitions from the oldest row's month to AHEAD_MONTHS after the current one, and
    one partition for anything older (rows written with an earlier time)."""
    cursor.execute(
        f"SELECT date_trunc('month', COALESCE(min({column}), now()) AT TIME ZONE 'UTC'),"
        " date_trunc('month', now() AT TIME ZONE 'UTC')"
        f" FROM {table}_unpartitioned"
    )
    first, current = cursor.fetchone()
    month = first
    last = current.replace(year=current.year + (current.month + AHEAD_MONTHS - 1) // 12,
                           month=(current.month + AHEAD_MONTHS - 1) % 12 + 1)  # fmt: skip
    cursor.execute(
        f"CREATE TABLE {table}_pold PARTITION OF {table} FOR VALUES FROM (MINVALUE) TO (%s)",
        [f"{first:%Y-%m-%d} 00:00:00+00"],
    )
    while month <= last:
        following = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
        cursor.execute(
            f"CREATE TABLE {table}_p{month:%Y%m} PARTITION OF {table} FOR VALUES FROM (%s) TO (%s)",
            [f"{month:%Y-%m-%d} 00:00:00+00", f"{following:%Y-%m-%d} 00:00:00+00"],
        )
        month = following


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, column in TABLES:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s"
                " AND indexname <> %s",
                [table, f"{table}_pkey"],
            )
            indexes = cursor.fetchall()
            cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_unpartitioned")
            cursor.execute(f"ALTER TABLE {table}_unpartitioned RENAME CONSTRAINT {table}_pkey TO {table}_old_pkey")
            cursor.execute(f"ALTER TABLE {table}_unpartitioned ALTER COLUMN id DROP IDENTITY IF EXISTS")
            cursor.execute(f"CREATE SEQUENCE {table}_id_seq")
            cursor.execute(
                f"CREATE TABLE {table} (LIKE {table}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                f" PARTITION BY RANGE ({column})"
            )
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')")
            cursor.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, {column})")
            _month_partitions(cursor, table, column)
            cursor.execute(f"INSERT INTO {table} SELECT * FROM {table}_unpartitioned")
            cursor.execute(f"SELECT setval('{table}_id_seq', COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)")
            cursor.execute(f"DROP TABLE {table}_unpartitioned")
            for _name, definition in indexes:  # on the parent now: PostgreSQL puts them on every partition
                cursor.execute(definition)
        cursor.execute(APPEND_ONLY_TRIGGER)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, _column in TABLES:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s"
                " AND indexname <> %s",
                [table, f"{table}_pkey"],
            )
            indexes = cursor.fetchall()
            cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_partitioned")
            cursor.execute(f"ALTER TABLE {table}_partitioned ALTER COLUMN id DROP DEFAULT")
            cursor.execute(f"DROP SEQUENCE {table}_id_seq")
            cursor.execute(f"CREATE TABLE {table} (LIKE {table}_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            cursor.execute(f"INSERT INTO {table} SELECT * FROM {table}_partitioned")
            cursor.execute(f"DROP TABLE {table}_partitioned CASCADE")
            cursor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
            for _name, definition in indexes:
                cursor.execute(definition.replace(" ON ONLY ", " ON "))
        cursor.execute(APPEND_ONLY_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("villages", "0003_sync_clock")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
