# The running counts summed by province, for the country report (enrolment/reports/models.py).
#
# The statement triggers of migration 0005 keep appending each statement's changes per village;
# their functions now also append the same changes summed by province (the village code's first
# two digits), from the same transition tables in the same statement, so both sets of counts move
# together. The province counts start as the village counts summed (not the base tables: the two
# must agree, and the village counts are what the reports already trust). Writers are locked out
# (SHARE ROW EXCLUSIVE) from the replacing of the functions to the commit, so no write is counted
# in one set and not the other. PostgreSQL only, like 0005.

from django.db import migrations, models

ENROLMENT_COUNTED = "deleted_at IS NULL AND NOT needs_correction"
ENROLMENT_GROUP = "village_id, coalesce(budget_year, 0), status, coalesce(funding_source_id, '')"
ENROLMENT_KEYS = "village, budget_year, status, funding_source"
WORKER_COUNTED = "deleted_at IS NULL"
WORKER_GROUP = "village_id, coalesce(occupation_id, ''), needs_correction"
WORKER_KEYS = "village, occupation, needs_correction"

# Each branch: the statement's change per village (`change`), appended per village, then summed
# by province and appended there; rows that cancel out are not appended (an UPDATE that moves
# nothing, a move between two villages of one province).
ENROLMENT_BY_VILLAGE = f"""
        by_village AS (
            INSERT INTO enrolment_coverage_enrolment ({ENROLMENT_KEYS}, n, monthly, annual)
            SELECT {ENROLMENT_KEYS}, n, monthly, annual FROM change)
        INSERT INTO enrolment_coverage_enrolment_province (province, budget_year, status, funding_source, n, monthly, annual)
        SELECT substr(village, 1, 2), budget_year, status, funding_source, sum(n), sum(monthly), sum(annual)
          FROM change GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 OR sum(monthly) <> 0 OR sum(annual) <> 0;"""
WORKER_BY_VILLAGE = f"""
        by_village AS (
            INSERT INTO enrolment_coverage_worker ({WORKER_KEYS}, n) SELECT {WORKER_KEYS}, n FROM change)
        INSERT INTO enrolment_coverage_worker_province (province, occupation, needs_correction, n)
        SELECT substr(village, 1, 2), occupation, needs_correction, sum(n)
          FROM change GROUP BY 1, 2, 3 HAVING sum(n) <> 0;"""

CREATE = f"""
LOCK TABLE enrolment_enrolment, workers_worker IN SHARE ROW EXCLUSIVE MODE;

CREATE OR REPLACE FUNCTION enrolment_coverage_enrolment_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH change ({ENROLMENT_KEYS}, n, monthly, annual) AS (
            SELECT {ENROLMENT_GROUP}, count(*), coalesce(sum(monthly_contribution), 0)::bigint,
                   coalesce(sum(annual_contribution), 0)::bigint
              FROM new_rows WHERE {ENROLMENT_COUNTED} GROUP BY 1, 2, 3, 4),{ENROLMENT_BY_VILLAGE}
    ELSIF TG_OP = 'DELETE' THEN
        WITH change ({ENROLMENT_KEYS}, n, monthly, annual) AS (
            SELECT {ENROLMENT_GROUP}, -count(*), -coalesce(sum(monthly_contribution), 0)::bigint,
                   -coalesce(sum(annual_contribution), 0)::bigint
              FROM old_rows WHERE {ENROLMENT_COUNTED} GROUP BY 1, 2, 3, 4),{ENROLMENT_BY_VILLAGE}
    ELSE
        WITH change ({ENROLMENT_KEYS}, n, monthly, annual) AS (
            SELECT village, budget_year, status, funding_source, sum(n), sum(monthly), sum(annual)
              FROM (SELECT {ENROLMENT_GROUP}, 1 AS n, monthly_contribution::bigint AS monthly,
                           annual_contribution AS annual
                      FROM new_rows WHERE {ENROLMENT_COUNTED}
                    UNION ALL
                    SELECT {ENROLMENT_GROUP}, -1, -monthly_contribution::bigint, -annual_contribution
                      FROM old_rows WHERE {ENROLMENT_COUNTED})
                   AS moved (village, budget_year, status, funding_source, n, monthly, annual)
             GROUP BY 1, 2, 3, 4
            HAVING sum(n) <> 0 OR sum(monthly) <> 0 OR sum(annual) <> 0),{ENROLMENT_BY_VILLAGE}
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION enrolment_coverage_worker_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH change ({WORKER_KEYS}, n) AS (
            SELECT {WORKER_GROUP}, count(*) FROM new_rows WHERE {WORKER_COUNTED} GROUP BY 1, 2, 3),{WORKER_BY_VILLAGE}
    ELSIF TG_OP = 'DELETE' THEN
        WITH change ({WORKER_KEYS}, n) AS (
            SELECT {WORKER_GROUP}, -count(*) FROM old_rows WHERE {WORKER_COUNTED} GROUP BY 1, 2, 3),{WORKER_BY_VILLAGE}
    ELSE
        WITH change ({WORKER_KEYS}, n) AS (
            SELECT village, occupation, needs_correction, sum(n)
              FROM (SELECT {WORKER_GROUP}, 1 AS n FROM new_rows WHERE {WORKER_COUNTED}
                    UNION ALL
                    SELECT {WORKER_GROUP}, -1 FROM old_rows WHERE {WORKER_COUNTED})
                   AS moved (village, occupation, needs_correction, n)
             GROUP BY 1, 2, 3
            HAVING sum(n) <> 0),{WORKER_BY_VILLAGE}
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION enrolment_coverage_enrolment_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM enrolment_coverage_enrolment; DELETE FROM enrolment_coverage_enrolment_province; RETURN NULL; END;
$$;
CREATE OR REPLACE FUNCTION enrolment_coverage_worker_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM enrolment_coverage_worker; DELETE FROM enrolment_coverage_worker_province; RETURN NULL; END;
$$;

INSERT INTO enrolment_coverage_enrolment_province (province, budget_year, status, funding_source, n, monthly, annual)
SELECT substr(village, 1, 2), budget_year, status, funding_source, sum(n), sum(monthly), sum(annual)
  FROM enrolment_coverage_enrolment GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 OR sum(monthly) <> 0 OR sum(annual) <> 0;
INSERT INTO enrolment_coverage_worker_province (province, occupation, needs_correction, n)
SELECT substr(village, 1, 2), occupation, needs_correction, sum(n)
  FROM enrolment_coverage_worker GROUP BY 1, 2, 3 HAVING sum(n) <> 0;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        village_only = import_module("enrolment.migrations.0005_coverage_triggers")
        # 0005's four functions (village counts only), not its triggers, which stay.
        schema_editor.execute(village_only.CREATE.split("CREATE TRIGGER", 1)[0])


class Migration(migrations.Migration):
    dependencies = [
        ("enrolment", "0020_verbose_names"),
    ]

    operations = [
        migrations.CreateModel(
            name="CoverageEnrolmentProvinceCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("province", models.CharField(max_length=2, verbose_name="province")),
                ("budget_year", models.SmallIntegerField(verbose_name="budget year")),
                ("status", models.CharField(max_length=10, verbose_name="status")),
                ("funding_source", models.CharField(max_length=32, verbose_name="funding source")),
                ("n", models.BigIntegerField(verbose_name="count")),
                ("monthly", models.BigIntegerField(verbose_name="monthly amount (IDR)")),
                ("annual", models.BigIntegerField(verbose_name="annual amount (IDR)")),
            ],
            options={
                "verbose_name": "enrolment coverage count by province",
                "verbose_name_plural": "enrolment coverage counts by province",
                "db_table": "enrolment_coverage_enrolment_province",
            },
        ),
        migrations.CreateModel(
            name="CoverageWorkerProvinceCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("province", models.CharField(max_length=2, verbose_name="province")),
                ("occupation", models.CharField(max_length=32, verbose_name="occupation")),
                ("needs_correction", models.BooleanField(verbose_name="needs correction")),
                ("n", models.BigIntegerField(verbose_name="count")),
            ],
            options={
                "verbose_name": "worker coverage count by province",
                "verbose_name_plural": "worker coverage counts by province",
                "db_table": "enrolment_coverage_worker_province",
            },
        ),
        migrations.RunPython(create, drop),
    ]
