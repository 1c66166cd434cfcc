"""The contribution rules of DOMAIN.md. Operators correct and extend them in the admin.

BPU figures are verified (JKK 1 % of the band base, minimum Rp 10,000; JKM Rp 6,800; JHT 2 %).
The income-band table is seeded with its lowest row only (up to Rp 1,000,000 → base
Rp 1,000,000); the top band is open-ended, so higher incomes are priced at it until an operator
adds the higher rows of PP 44/2015 Annex II. PU rates and the PP 50/2025 periods are *reported*
figures and marked so in `source`.
"""

import datetime as dt

from django.db import migrations

PP_44 = dt.date(2015, 7, 1)
OTHER_GROUPS = ["village_government", "community", "agriculture", "fisheries", "trade_labour", "household_other"]

RULES = [
    # segment, program, basis, rate (basis points), flat, minimum, source
    ("BPU", "JKK", "band_base", 100, 0, 10_000, "PP 44/2015 Annex II: 1 % of the nominal income (verified minimum)"),
    ("BPU", "JKM", "flat", 0, 6_800, 0, "PP 44/2015: flat Rp 6,800 for BPU (verified)"),
    ("BPU", "JHT", "band_base", 200, 0, 0, "PP 46/2015: 2 % of the nominal income (verified)"),
    ("PU", "JKK", "income", 24, 0, 0, "PP 44/2015 risk group I, 0.24 % of wages (reported; check before use)"),
    ("PU", "JKM", "income", 30, 0, 0, "PP 44/2015: 0.30 % of wages (reported; check before use)"),
    ("PU", "JHT", "income", 570, 0, 0, "PP 46/2015: 5.7 % of wages (reported; check before use)"),
]

DISCOUNTS = [
    ("PP 50/2025 transport", ["transport"], dt.date(2026, 1, 1), dt.date(2027, 3, 31)),
    ("PP 50/2025", OTHER_GROUPS, dt.date(2026, 4, 1), dt.date(2026, 12, 31)),
]


def seed(apps, schema_editor):
    ContributionRule = apps.get_model("enrolment", "ContributionRule")
    IncomeBand = apps.get_model("enrolment", "IncomeBand")
    ContributionDiscount = apps.get_model("enrolment", "ContributionDiscount")
    for segment, program, basis, rate, flat, minimum, source in RULES:
        ContributionRule.objects.get_or_create(
            segment=segment,
            program=program,
            valid_from=PP_44,
            defaults={"basis": basis, "rate_bp": rate, "flat_idr": flat, "minimum_idr": minimum, "source": source},
        )
    IncomeBand.objects.get_or_create(
        segment="BPU",
        income_from=0,
        valid_from=PP_44,
        defaults={"base_idr": 1_000_000, "source": "PP 44/2015 Annex II, lowest band (verified)"},
    )
    for name, groups, start, end in DISCOUNTS:
        ContributionDiscount.objects.get_or_create(
            name=name,
            valid_from=start,
            defaults={
                "segment": "BPU",
                "programs": ["JKK", "JKM"],
                "percent": 50,
                "occupation_groups": groups,
                "self_paid_only": True,
                "valid_to": end,
                "source": "PP 50/2025 (reported): self-paying BPU only, never APBN/APBD-funded",
            },
        )


class Migration(migrations.Migration):
    dependencies = [("enrolment", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
