# The offline-sync change clock (villages/sync_clock.py): its tables, functions and log triggers.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from villages import sync_clock


def install(apps, schema_editor):
    sync_clock.install_clock(schema_editor)


def remove(apps, schema_editor):
    sync_clock.remove_clock(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('villages', '0002_audit_event'),
    ]

    operations = [
        migrations.CreateModel(
            name='SyncClock',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('value', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='SyncSnapshot',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('snapshot', models.TextField()),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
        ),
        migrations.CreateModel(
            name='RecordMove',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('table', models.CharField(max_length=32)),
                ('record_id', models.CharField(max_length=64)),
                ('from_village', models.CharField(max_length=13)),
                ('to_village', models.CharField(max_length=13)),
                ('sync_txid', models.BigIntegerField(db_default=0, default=0, editable=False)),
            ],
            options={
                'indexes': [models.Index(fields=['sync_txid'], name='recordmove_txid')],
            },
        ),
        migrations.CreateModel(
            name='ScopeChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('area_code', models.CharField(max_length=13)),
                ('added', models.BooleanField()),
                ('sync_txid', models.BigIntegerField(db_default=0, default=0, editable=False)),
                ('user', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['user', 'sync_txid'], name='scopechange_user_txid')],
            },
        ),
        migrations.RunPython(install, remove),
    ]
