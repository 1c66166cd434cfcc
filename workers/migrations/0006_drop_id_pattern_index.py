# The worker id's varchar_pattern_ops index: no query filters ids by prefix (config/pattern_indexes.py).

from django.db import migrations

from config.pattern_indexes import create_pattern_index, drop_pattern_index


def drop(apps, schema_editor):
    drop_pattern_index(schema_editor, "workers_worker", "id")


def create(apps, schema_editor):
    create_pattern_index(schema_editor, "workers_worker", "id")


class Migration(migrations.Migration):

    dependencies = [
        ("workers", "0005_created_on_device"),
    ]

    operations = [migrations.RunPython(drop, create)]
