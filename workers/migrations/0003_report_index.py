# The coverage report counts live workers per village and occupation under an area-code prefix
# (enrolment/reports.py). This partial covering index lets PostgreSQL answer that with an
# index-only scan: village_id with varchar_pattern_ops serves `LIKE '17.04.%'` whatever the
# database collation, and the INCLUDEd columns are all the query reads. PostgreSQL only: SQLite
# (the embedded mode) has neither opclasses nor INCLUDE, and its volumes do not need them.

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS worker_report ON workers_worker (village_id varchar_pattern_ops)
    INCLUDE (occupation_id, needs_correction) WHERE deleted_at IS NULL
"""
DROP = "DROP INDEX IF EXISTS worker_report"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("workers", "0002_seed_reference")]

    operations = [migrations.RunPython(create, drop)]
