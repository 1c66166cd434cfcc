"""`manage.py flush` that empties a SQLite database the way it empties a PostgreSQL one.

On PostgreSQL flush is one TRUNCATE, which fires no row trigger: the audit log's append-only
trigger (villages 0002) refuses UPDATE and DELETE of its rows, not the emptying of the whole
database. SQLite has no TRUNCATE: flush DELETEs every row, so that trigger refused it (and every
transactional test with it), and the sync-clock triggers (villages 0003, workers 0004,
enrolment 0008) would log the deletions they see as moves and scope changes.

So on SQLite the triggers are set aside for the flush, in the same transaction: dropped, the rows
deleted, the triggers created again from their own stored SQL, and the clock's one row put back
(as its migration inserted it). Either all of it happens or none. Elsewhere this is Django's flush.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections, transaction


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        with transaction.atomic(using=database), connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            super().handle(**options)
            for _name, sql in triggers:
                cursor.execute(sql)
            if "villages_syncclock" in connection.introspection.table_names(cursor):
                cursor.execute("INSERT INTO villages_syncclock (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
