"""Dropping the LIKE indexes Django adds to text keys that nothing searches by prefix.

On PostgreSQL Django gives every indexed varchar column a second index with
varchar_pattern_ops, for `LIKE 'abc%'`. On client-generated ids (workers, enrolments) and the
enrolment's worker id nothing filters that way (the admin's search is `icontains`, which no
btree serves), yet every insert pays for the extra index: on the 80,418-row import into a
million-row database, these and ImportRow's job index were ~10 % of PostgreSQL's time. Used by
migrations; a no-op on other databases.
"""

from __future__ import annotations

from typing import Any


def drop_pattern_index(schema_editor: Any, table: str, column: str) -> None:
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


def create_pattern_index(schema_editor: Any, table: str, column: str) -> None:
    """The reverse: the index as Django would name and create it."""
    if schema_editor.connection.vendor != "postgresql":
        return
    name = schema_editor._create_index_name(table, [column], suffix="_like")
    schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}" varchar_pattern_ops)')
