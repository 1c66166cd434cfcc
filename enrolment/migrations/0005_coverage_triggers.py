# The running counts of the coverage report (enrolment/reports/models.py), kept by PostgreSQL.
#
# One statement-level trigger per event on enrolment_enrolment and workers_worker appends, for the
# statement, one row per group it changed with the change: +count for rows that now count, -count
# for rows that counted before (an UPDATE contributes both, so a change that moves nothing adds
# nothing). Transition tables need one trigger per event (PostgreSQL refuses them on multi-event
# triggers); the function serves all three, like the manual's audit example. Append-only: writers
# never update a shared row, so they neither wait on each other nor deadlock. COPY fires these
# triggers too. TRUNCATE of a base table clears its counts.
#
# The triggers are created before the existing rows are counted, in this migration's transaction:
# CREATE TRIGGER locks writers out until it commits, so no write falls between the two.
# The counts are filtered by year and area-code prefix: (budget_year, village) and (village) with
# varchar_pattern_ops, so `LIKE '17.04.%'` is an index range whatever the collation.
# PostgreSQL only: SQLite (the embedded mode) reports from the tables themselves.

from django.db import migrations

ENROLMENT_COUNTED = "deleted_at IS NULL AND NOT needs_correction"
ENROLMENT_GROUP = "village_id, coalesce(budget_year, 0), status, coalesce(funding_source_id, '')"
WORKER_COUNTED = "deleted_at IS NULL"
WORKER_GROUP = "village_id, coalesce(occupation_id, ''), needs_correction"

CREATE = f"""
CREATE OR REPLACE FUNCTION enrolment_coverage_enrolment_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO enrolment_coverage_enrolment (village, budget_year, status, funding_source, n, monthly, annual)
        SELECT {ENROLMENT_GROUP}, count(*), coalesce(sum(monthly_contribution), 0), coalesce(sum(annual_contribution), 0)
          FROM new_rows WHERE {ENROLMENT_COUNTED} GROUP BY 1, 2, 3, 4;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO enrolment_coverage_enrolment (village, budget_year, status, funding_source, n, monthly, annual)
        SELECT {ENROLMENT_GROUP}, -count(*), -coalesce(sum(monthly_contribution), 0), -coalesce(sum(annual_contribution), 0)
          FROM old_rows WHERE {ENROLMENT_COUNTED} GROUP BY 1, 2, 3, 4;
    ELSE
        INSERT INTO enrolment_coverage_enrolment (village, budget_year, status, funding_source, n, monthly, annual)
        SELECT village, budget_year, status, funding_source, sum(n), sum(monthly), sum(annual)
          FROM (SELECT {ENROLMENT_GROUP}, 1 AS n, monthly_contribution::bigint AS monthly,
                       annual_contribution AS annual
                  FROM new_rows WHERE {ENROLMENT_COUNTED}
                UNION ALL
                SELECT {ENROLMENT_GROUP}, -1, -monthly_contribution::bigint, -annual_contribution
                  FROM old_rows WHERE {ENROLMENT_COUNTED})
               AS change (village, budget_year, status, funding_source, n, monthly, annual)
         GROUP BY 1, 2, 3, 4
        HAVING sum(n) <> 0 OR sum(monthly) <> 0 OR sum(annual) <> 0;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION enrolment_coverage_worker_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO enrolment_coverage_worker (village, occupation, needs_correction, n)
        SELECT {WORKER_GROUP}, count(*) FROM new_rows WHERE {WORKER_COUNTED} GROUP BY 1, 2, 3;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO enrolment_coverage_worker (village, occupation, needs_correction, n)
        SELECT {WORKER_GROUP}, -count(*) FROM old_rows WHERE {WORKER_COUNTED} GROUP BY 1, 2, 3;
    ELSE
        INSERT INTO enrolment_coverage_worker (village, occupation, needs_correction, n)
        SELECT village, occupation, needs_correction, sum(n)
          FROM (SELECT {WORKER_GROUP}, 1 AS n FROM new_rows WHERE {WORKER_COUNTED}
                UNION ALL
                SELECT {WORKER_GROUP}, -1 FROM old_rows WHERE {WORKER_COUNTED})
               AS change (village, occupation, needs_correction, n)
         GROUP BY 1, 2, 3
        HAVING sum(n) <> 0;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION enrolment_coverage_enrolment_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM enrolment_coverage_enrolment; RETURN NULL; END;
$$;
CREATE OR REPLACE FUNCTION enrolment_coverage_worker_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM enrolment_coverage_worker; RETURN NULL; END;
$$;

CREATE TRIGGER coverage_insert AFTER INSERT ON enrolment_enrolment REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_coverage_enrolment_track();
CREATE TRIGGER coverage_update AFTER UPDATE ON enrolment_enrolment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_coverage_enrolment_track();
CREATE TRIGGER coverage_delete AFTER DELETE ON enrolment_enrolment REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_coverage_enrolment_track();
CREATE TRIGGER coverage_truncate AFTER TRUNCATE ON enrolment_enrolment
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_coverage_enrolment_truncate();

CREATE TRIGGER coverage_insert AFTER INSERT ON workers_worker REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_coverage_worker_track();
CREATE TRIGGER coverage_update AFTER UPDATE ON workers_worker
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_coverage_worker_track();
CREATE TRIGGER coverage_delete AFTER DELETE ON workers_worker REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_coverage_worker_track();
CREATE TRIGGER coverage_truncate AFTER TRUNCATE ON workers_worker
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_coverage_worker_truncate();

INSERT INTO enrolment_coverage_enrolment (village, budget_year, status, funding_source, n, monthly, annual)
SELECT {ENROLMENT_GROUP}, count(*), coalesce(sum(monthly_contribution), 0), coalesce(sum(annual_contribution), 0)
  FROM enrolment_enrolment WHERE {ENROLMENT_COUNTED} GROUP BY 1, 2, 3, 4;
INSERT INTO enrolment_coverage_worker (village, occupation, needs_correction, n)
SELECT {WORKER_GROUP}, count(*) FROM workers_worker WHERE {WORKER_COUNTED} GROUP BY 1, 2, 3;

CREATE INDEX coverage_enrolment_year_village ON enrolment_coverage_enrolment (budget_year, village varchar_pattern_ops);
CREATE INDEX coverage_worker_village ON enrolment_coverage_worker (village varchar_pattern_ops);
"""

DROP = """
DROP TRIGGER IF EXISTS coverage_insert ON enrolment_enrolment;
DROP TRIGGER IF EXISTS coverage_update ON enrolment_enrolment;
DROP TRIGGER IF EXISTS coverage_delete ON enrolment_enrolment;
DROP TRIGGER IF EXISTS coverage_truncate ON enrolment_enrolment;
DROP TRIGGER IF EXISTS coverage_insert ON workers_worker;
DROP TRIGGER IF EXISTS coverage_update ON workers_worker;
DROP TRIGGER IF EXISTS coverage_delete ON workers_worker;
DROP TRIGGER IF EXISTS coverage_truncate ON workers_worker;
DROP FUNCTION IF EXISTS enrolment_coverage_enrolment_track();
DROP FUNCTION IF EXISTS enrolment_coverage_worker_track();
DROP FUNCTION IF EXISTS enrolment_coverage_enrolment_truncate();
DROP FUNCTION IF EXISTS enrolment_coverage_worker_truncate();
DROP INDEX IF EXISTS coverage_enrolment_year_village;
DROP INDEX IF EXISTS coverage_worker_village;
DELETE FROM enrolment_coverage_enrolment;
DELETE FROM enrolment_coverage_worker;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("enrolment", "0004_coverage_counts"),
        ("workers", "0002_seed_reference"),
    ]

    operations = [migrations.RunPython(create, drop)]
