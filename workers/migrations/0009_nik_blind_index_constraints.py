# Personal data at rest, step 3 of 3: NIK uniqueness and the completeness check read the blind
# index (0008 filled it for every row).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workers", "0008_encrypt_personal_data"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="worker",
            constraint=models.UniqueConstraint(
                condition=models.Q(deleted_at__isnull=True, needs_correction=False),
                fields=("nik_bi",),
                name="worker_nik_bi_unique_live",
            ),
        ),
        migrations.AddConstraint(
            model_name="worker",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("needs_correction", True),
                    models.Q(
                        ("nik_bi__regex", "^[0-9a-f]{32}$"),
                        models.Q(("full_name", ""), _negated=True),
                        ("birth_date__isnull", False),
                        ("sex__in", ["M", "F"]),
                        ("occupation__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="worker_complete_unless_flagged",
            ),
        ),
    ]
