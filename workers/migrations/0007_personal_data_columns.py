# Personal data at rest, step 1 of 3: the columns become text (the tokens are longer than the
# values), the blind index columns appear, and the two constraints that read the plaintext NIK
# go (0009 puts them back on the blind index once 0008 has encrypted every row).

import django.db.models
from django.db import migrations

import config.pii


class Migration(migrations.Migration):
    dependencies = [
        ("workers", "0007_duplicates"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="worker", name="worker_nik_unique_live"),
        migrations.RemoveConstraint(model_name="worker", name="worker_complete_unless_flagged"),
        migrations.AlterField(model_name="worker", name="nik", field=config.pii.EncryptedTextField(blank=True)),
        migrations.AlterField(model_name="worker", name="kk_number", field=config.pii.EncryptedTextField(blank=True)),
        migrations.AlterField(model_name="worker", name="phone", field=config.pii.EncryptedTextField(blank=True)),
        migrations.AlterField(
            model_name="worker", name="mother_maiden_name", field=config.pii.EncryptedTextField(blank=True)
        ),
        migrations.AlterField(
            model_name="worker", name="heirs", field=config.pii.EncryptedJSONField(blank=True, default=list)
        ),
        migrations.AddField(
            model_name="worker", name="nik_bi", field=config.pii.BlindIndexField(purpose="nik", source="nik")
        ),
        migrations.AddField(
            model_name="worker", name="kk_bi", field=config.pii.BlindIndexField(purpose="kk", source="kk_number")
        ),
        migrations.AddField(
            model_name="worker", name="phone_bi", field=config.pii.BlindIndexField(purpose="phone", source="phone")
        ),
    ]
