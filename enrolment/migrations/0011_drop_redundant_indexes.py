# Indexes every insert paid for and no query used (config/pattern_indexes.py): the enrolment
# id's and worker id's varchar_pattern_ops indexes (the plain worker_id index stays), and the
# import row's job index (the unique (job, row_number) serves lookups by job).

import django.db.models.deletion
from django.db import migrations, models

from config.pattern_indexes import create_pattern_index, drop_pattern_index


def drop(apps, schema_editor):
    drop_pattern_index(schema_editor, "enrolment_enrolment", "id")
    drop_pattern_index(schema_editor, "enrolment_enrolment", "worker_id")


def create(apps, schema_editor):
    create_pattern_index(schema_editor, "enrolment_enrolment", "id")
    create_pattern_index(schema_editor, "enrolment_enrolment", "worker_id")


class Migration(migrations.Migration):

    dependencies = [
        ("enrolment", "0010_created_on_device"),
    ]

    operations = [
        migrations.AlterField(
            model_name="importrow",
            name="job",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rows",
                to="enrolment.importjob",
            ),
        ),
        migrations.RunPython(drop, create),
    ]
