# An allocation's commitment (enrolment/funding/models.py), kept by the database.
#
# PostgreSQL: one statement-level trigger per event on enrolment_enrolment (transition tables
# need one trigger per event, like the coverage counts of 0005) adds, per allocation the
# statement touched, the people and annual amounts that now count and takes away those that
# counted before. The allocation rows are locked in id order first, so two statements touching
# several allocations never deadlock; a racing writer waits for the row and then sees the
# commitment of the one before it, and the CHECK constraints allocation_within_quota /
# allocation_within_amount refuse the statement that would overrun. SQLite (the embedded mode)
# does the same with row triggers, one UPDATE per row so the CHECK sees the net change.
# No backfill: the allocation column is new, so no existing row counts.

from django.db import migrations

COUNTED = "allocation_id IS NOT NULL AND deleted_at IS NULL AND NOT needs_correction AND status IN ('verified', 'queued', 'active')"

NEW_ROWS = f"SELECT allocation_id, 1 AS n, annual_contribution AS idr FROM new_rows WHERE {COUNTED}"
OLD_ROWS = f"SELECT allocation_id, -1 AS n, -annual_contribution AS idr FROM old_rows WHERE {COUNTED}"


def _statements(rows: str) -> str:
    """Lock the allocations whose commitment the statement changes (in id order), then change it.
    A statement that moves nothing (e.g. queued → active) locks nothing."""
    change = (
        f"SELECT allocation_id, sum(n) AS n, sum(idr) AS idr FROM ({rows}) r GROUP BY 1"
        " HAVING sum(n) <> 0 OR sum(idr) <> 0"
    )
    return (
        f"PERFORM 1 FROM enrolment_fundingallocation WHERE id IN (SELECT allocation_id FROM ({change}) c)"
        " ORDER BY id FOR UPDATE;\n"
        "        UPDATE enrolment_fundingallocation a"
        " SET committed_workers = a.committed_workers + d.n, committed_idr = a.committed_idr + d.idr"
        f" FROM ({change}) d WHERE a.id = d.allocation_id;"
    )


PG_CREATE = f"""
CREATE OR REPLACE FUNCTION enrolment_allocation_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_statements(NEW_ROWS)}
    ELSIF TG_OP = 'DELETE' THEN
        {_statements(OLD_ROWS)}
    ELSE
        {_statements(NEW_ROWS + " UNION ALL " + OLD_ROWS)}
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER allocation_insert AFTER INSERT ON enrolment_enrolment REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_allocation_track();
CREATE TRIGGER allocation_update AFTER UPDATE ON enrolment_enrolment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_allocation_track();
CREATE TRIGGER allocation_delete AFTER DELETE ON enrolment_enrolment REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_allocation_track();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS allocation_insert ON enrolment_enrolment;
DROP TRIGGER IF EXISTS allocation_update ON enrolment_enrolment;
DROP TRIGGER IF EXISTS allocation_delete ON enrolment_enrolment;
DROP FUNCTION IF EXISTS enrolment_allocation_track();
"""


def _counted(row: str) -> str:
    return (
        f"{row}.allocation_id IS NOT NULL AND {row}.deleted_at IS NULL AND NOT {row}.needs_correction"
        f" AND {row}.status IN ('verified', 'queued', 'active')"
    )


SQLITE_CREATE = [
    f"""CREATE TRIGGER allocation_insert AFTER INSERT ON enrolment_enrolment WHEN {_counted("NEW")}
    BEGIN UPDATE enrolment_fundingallocation SET committed_workers = committed_workers + 1,
        committed_idr = committed_idr + NEW.annual_contribution WHERE id = NEW.allocation_id; END""",
    f"""CREATE TRIGGER allocation_delete AFTER DELETE ON enrolment_enrolment WHEN {_counted("OLD")}
    BEGIN UPDATE enrolment_fundingallocation SET committed_workers = committed_workers - 1,
        committed_idr = committed_idr - OLD.annual_contribution WHERE id = OLD.allocation_id; END""",
    f"""CREATE TRIGGER allocation_update AFTER UPDATE ON enrolment_enrolment
    WHEN ({_counted("NEW")}) OR ({_counted("OLD")})
    BEGIN UPDATE enrolment_fundingallocation SET
        committed_workers = committed_workers
            + (CASE WHEN id = NEW.allocation_id AND {_counted("NEW")} THEN 1 ELSE 0 END)
            - (CASE WHEN id = OLD.allocation_id AND {_counted("OLD")} THEN 1 ELSE 0 END),
        committed_idr = committed_idr
            + (CASE WHEN id = NEW.allocation_id AND {_counted("NEW")} THEN NEW.annual_contribution ELSE 0 END)
            - (CASE WHEN id = OLD.allocation_id AND {_counted("OLD")} THEN OLD.annual_contribution ELSE 0 END)
        WHERE id IN (NEW.allocation_id, OLD.allocation_id); END""",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS allocation_{event}" for event in ("insert", "update", "delete")]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_CREATE)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("enrolment", "0012_budget_year")]

    operations = [migrations.RunPython(create, drop)]
