# The coverage report sums a budget year's enrolments per village, status and funding source
# under an area-code prefix (enrolment/reports.py). This partial covering index makes that an
# index-only scan: (budget_year, village_id varchar_pattern_ops) narrows to the year and the
# prefix (`LIKE '17.04.%'` whatever the collation) and the INCLUDEd columns are all it reads.
# PostgreSQL only (SQLite, the embedded mode, has neither opclasses nor INCLUDE).

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS enrolment_report ON enrolment_enrolment (budget_year, village_id varchar_pattern_ops)
    INCLUDE (status, funding_source_id, monthly_contribution, annual_contribution)
    WHERE deleted_at IS NULL AND NOT needs_correction
"""
DROP = "DROP INDEX IF EXISTS enrolment_report"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("enrolment", "0003_import_jobs")]

    operations = [migrations.RunPython(create, drop)]
