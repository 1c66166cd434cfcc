"""Occupations and funding sources from DOMAIN.md. Admins can add and deactivate rows."""

from django.db import migrations

OCCUPATIONS = [
    # code, Indonesian name, English name, group
    ("kepala_desa", "Kepala desa", "Village head", "village_government"),
    ("perangkat_desa", "Perangkat desa", "Village staff", "village_government"),
    ("bpd", "Anggota BPD", "Village consultative body (BPD) member", "village_government"),
    ("rt_rw", "Ketua RT/RW", "Neighbourhood head (RT/RW)", "village_government"),
    ("lpm_lkd", "Pengurus LPM/LKD", "Village community institution (LPM/LKD) member", "village_government"),
    ("linmas", "Linmas", "Community protection (Linmas)", "village_government"),
    ("kader_posyandu", "Kader posyandu", "Health post (posyandu) volunteer", "village_government"),
    ("marbot", "Marbot", "Mosque caretaker", "community"),
    ("guru_ngaji", "Guru ngaji", "Quran teacher", "community"),
    ("petani", "Petani", "Farmer", "agriculture"),
    ("buruh_tani", "Buruh tani", "Farm labourer", "agriculture"),
    ("pemanen_sawit", "Pemanen sawit", "Palm-oil harvester", "agriculture"),
    ("nelayan", "Nelayan", "Fisher", "fisheries"),
    ("ojek", "Ojek/ojol", "Motorcycle taxi driver", "transport"),
    ("kurir", "Kurir", "Courier", "transport"),
    ("sopir", "Sopir", "Driver", "transport"),
    ("tukang_becak", "Tukang becak", "Pedicab driver", "transport"),
    ("pedagang_pasar", "Pedagang pasar", "Market trader", "trade_labour"),
    ("pedagang_keliling", "Pedagang keliling", "Street vendor", "trade_labour"),
    ("buruh_harian_lepas", "Buruh harian lepas", "Casual day labourer", "trade_labour"),
    ("asisten_rumah_tangga", "Asisten rumah tangga", "Domestic worker", "household_other"),
    ("satpam", "Satpam", "Security guard", "household_other"),
    ("pemulung", "Pemulung", "Waste picker", "household_other"),
    ("lainnya", "Lainnya", "Other", "household_other"),
]

FUNDING_SOURCES = [
    # code, Indonesian name, English name, public budget (APBN/APBD and its parts), self-paid
    ("apbd_provinsi", "APBD provinsi", "Provincial budget (APBD)", True, False),
    ("apbd_kabupaten", "APBD kabupaten/kota", "Regency/city budget (APBD)", True, False),
    ("dbh_sawit", "DBH sawit", "Palm-oil revenue share (DBH sawit)", True, False),
    ("apbdes", "APBDes", "Village budget (APBDes)", True, False),
    ("csr", "CSR perusahaan", "Corporate donors (CSR)", False, False),
    ("donatur", "Donatur perorangan (SERTAKAN)", "Individual donors (SERTAKAN)", False, False),
    ("apbn", "APBN", "State budget (APBN)", True, False),
    ("mandiri", "Mandiri (bayar sendiri)", "Self-paid", False, True),
]


def seed(apps, schema_editor):
    Occupation = apps.get_model("workers", "Occupation")
    FundingSource = apps.get_model("workers", "FundingSource")
    for order, (code, name, name_en, group) in enumerate(OCCUPATIONS):
        Occupation.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "group": group, "sort_order": order}
        )
    for order, (code, name, name_en, public, self_paid) in enumerate(FUNDING_SOURCES):
        FundingSource.objects.update_or_create(
            code=code,
            defaults={"name": name, "name_en": name_en, "public_budget": public, "self_paid": self_paid, "sort_order": order},
        )


class Migration(migrations.Migration):
    dependencies = [("workers", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
