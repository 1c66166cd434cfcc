"""The first privacy notice, and the consents already on file put under it (they were given
under the notice the officers read out, which this row records).

On SQLite, 0012's new columns rebuilt workers_worker and so dropped its sync-clock triggers:
reinstalled first, as 0011 does (PostgreSQL alters in place; nothing runs there)."""

import datetime as dt
import importlib

from django.db import migrations

NOTICE = {
    "version": "2025-01",
    "title": "Pemberitahuan Privasi Pendaftaran Pekerja Rentan BPJS Ketenagakerjaan",
    "summary": (
        "Data Anda (NIK, No. KK, nama, alamat, nomor HP, penghasilan dan ahli waris) dipakai untuk "
        "mendaftarkan Anda sebagai peserta BPJS Ketenagakerjaan (JKK dan JKM) yang iurannya dibayar "
        "pemerintah, dikirim ke BPJS Ketenagakerjaan, dan dipakai lagi bila ahli waris mengajukan klaim. "
        "Anda dapat meminta salinan, perbaikan atau penghapusan data Anda kepada pemerintah desa."
    ),
    "text": (
        "Berdasarkan UU No. 27 Tahun 2022 tentang Pelindungan Data Pribadi, pemerintah desa dan "
        "pemerintah daerah memproses data pribadi Anda untuk tujuan berikut: (1) pendaftaran dan "
        "kepesertaan program Jaminan Kecelakaan Kerja dan Jaminan Kematian BPJS Ketenagakerjaan "
        "dengan iuran dari APBD/APBDes (enrolment); (2) pengajuan dan pembayaran klaim oleh ahli "
        "waris (claims). Data disimpan terenkripsi, hanya dilihat oleh petugas di wilayah Anda, "
        "setiap akses dicatat, dan data dihapus atas permintaan bila tidak lagi diperlukan untuk "
        "kepesertaan atau klaim yang masih berjalan."
    ),
    "purposes": ["enrolment", "claims"],
    "effective_from": dt.date(2025, 1, 1),
    "effective_until": None,
}


STAMP = importlib.import_module("workers.migrations.0004_sync_stamp")


def sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in STAMP.SQLITE_REMOVE + STAMP.SQLITE_INSTALL:
            schema_editor.execute(statement)


def seed(apps, schema_editor):
    PrivacyNotice = apps.get_model("workers", "PrivacyNotice")
    Worker = apps.get_model("workers", "Worker")
    PrivacyNotice.objects.update_or_create(version=NOTICE["version"], defaults=NOTICE)
    Worker.objects.filter(consent_given_at__isnull=False, consent_notice_version="").update(
        consent_notice_version=NOTICE["version"], consent_purpose=NOTICE["purposes"][0]
    )


def unseed(apps, schema_editor):
    apps.get_model("workers", "Worker").objects.update(consent_notice_version="", consent_purpose="")
    apps.get_model("workers", "PrivacyNotice").objects.filter(version=NOTICE["version"]).delete()


class Migration(migrations.Migration):
    dependencies = [("workers", "0012_privacy_notices")]

    operations = [
        migrations.RunPython(sqlite_triggers, migrations.RunPython.noop),
        migrations.RunPython(seed, unseed),
    ]
