"""Drops the varchar_pattern_ops index Django makes for every varchar key on PostgreSQL
(workers_matchname_worker_id_..._like). Nothing searches match rows by a prefix of the worker's
id: the index only cost every match row insert one more index entry (docs/dq.md "Speed")."""

from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

FIND = (
    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    " AND tablename = 'workers_matchname' AND indexdef LIKE '%%varchar_pattern_ops%%'"
)


def drop_like_index(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FIND)
        for (name,) in cursor.fetchall():
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def create_like_index(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX workers_matchname_worker_id_like ON workers_matchname (worker_id varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [("workers", "0016_match_keys_as_columns")]

    operations = [migrations.RunPython(drop_like_index, create_like_index, elidable=False)]
