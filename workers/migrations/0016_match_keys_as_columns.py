"""The duplicate finder's exact keys become columns of its one row per worker (workers_matchname)
instead of a row per key (workers_matchkey), and that row no longer has a database foreign key
(workers/models.py MatchName says why; docs/dq.md "Speed").

The keys already stored are moved, not computed again (that needs the NIKs decrypted: `manage.py
refresh_match_keys`). Each old key row is classified by the worker's own blind indexes: the NIK,
KK and phone keys are the same digests as the worker's nik_bi, kk_bi and phone_bi
(workers/duplicates/keys.py); the one key left is the NIK's region + date part. Plain SQL that
PostgreSQL and SQLite both run. Reversible: the columns are turned back into key rows.
"""

import django.db.models.deletion
from django.db import migrations, models


def _key_equal_to(column: str) -> str:
    return (
        "COALESCE((SELECT k.key FROM workers_matchkey k JOIN workers_worker w ON w.id = k.worker_id"
        f" WHERE k.worker_id = workers_matchname.worker_id AND k.key = w.{column} AND w.{column} <> ''), '')"
    )


COLUMNS_FROM_KEY_ROWS = (
    "UPDATE workers_matchname SET"
    f" nik_key = {_key_equal_to('nik_bi')},"
    f" kk_key = {_key_equal_to('kk_bi')},"
    f" phone_key = {_key_equal_to('phone_bi')},"
    " nik_part_key = COALESCE((SELECT min(k.key) FROM workers_matchkey k JOIN workers_worker w ON w.id = k.worker_id"
    "  WHERE k.worker_id = workers_matchname.worker_id AND k.key NOT IN (w.nik_bi, w.kk_bi, w.phone_bi)), '')"
    " WHERE EXISTS (SELECT 1 FROM workers_matchkey k WHERE k.worker_id = workers_matchname.worker_id)"
)

KEY_ROWS_FROM_COLUMNS = " UNION ALL ".join(
    [
        "INSERT INTO workers_matchkey (key, worker_id) SELECT nik_key, worker_id FROM workers_matchname WHERE nik_key <> ''"
    ]
    + [f"SELECT {c}, worker_id FROM workers_matchname WHERE {c} <> ''" for c in ("nik_part_key", "kk_key", "phone_key")]
)


class Migration(migrations.Migration):
    dependencies = [
        ("workers", "0015_verbose_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="matchname",
            name="kk_key",
            field=models.CharField(blank=True, default="", max_length=40, verbose_name="family card key"),
        ),
        migrations.AddField(
            model_name="matchname",
            name="nik_key",
            field=models.CharField(blank=True, default="", max_length=40, verbose_name="NIK key"),
        ),
        migrations.AddField(
            model_name="matchname",
            name="nik_part_key",
            field=models.CharField(blank=True, default="", max_length=40, verbose_name="NIK region and date key"),
        ),
        migrations.AddField(
            model_name="matchname",
            name="phone_key",
            field=models.CharField(blank=True, default="", max_length=40, verbose_name="phone key"),
        ),
        migrations.RunSQL(COLUMNS_FROM_KEY_ROWS, KEY_ROWS_FROM_COLUMNS),
        migrations.AlterField(
            model_name="matchname",
            name="worker",
            field=models.OneToOneField(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                primary_key=True,
                related_name="+",
                serialize=False,
                to="workers.worker",
                verbose_name="worker",
            ),
        ),
        migrations.AddIndex(
            model_name="matchname",
            index=models.Index(
                condition=models.Q(("nik_key", ""), _negated=True), fields=["nik_key"], name="matchname_nik_key"
            ),
        ),
        migrations.AddIndex(
            model_name="matchname",
            index=models.Index(
                condition=models.Q(("nik_part_key", ""), _negated=True),
                fields=["nik_part_key"],
                name="matchname_nik_part_key",
            ),
        ),
        migrations.AddIndex(
            model_name="matchname",
            index=models.Index(
                condition=models.Q(("kk_key", ""), _negated=True), fields=["kk_key"], name="matchname_kk_key"
            ),
        ),
        migrations.AddIndex(
            model_name="matchname",
            index=models.Index(
                condition=models.Q(("phone_key", ""), _negated=True), fields=["phone_key"], name="matchname_phone_key"
            ),
        ),
        migrations.DeleteModel(
            name="MatchKey",
        ),
    ]
