"""Demo data for a first look: accounts for every role in Kabupaten Kaur, Bengkulu, and targets.

Not for production: the passwords are printed and public.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from villages.area_loader import areas_load
from villages.models import Area, AreaTarget, Assignment, Role, User

DEMO_PROVINCE = "17"  # Bengkulu
DEMO_REGENCY = "17.04"  # Kabupaten Kaur
DEMO_VILLAGE = "17.04.01.2001"  # Gedung Wani, Kinal
DEMO_YEAR = 2026


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    full_name: str
    role: str
    areas: tuple[str, ...]


DEMO_ACCOUNTS = (
    DemoAccount("admin", "admin-Desa-2026", "Admin Provinsi", Role.ADMIN, ()),
    DemoAccount("supervisor", "super-Kaur-2026", "Supervisor Kaur", Role.SUPERVISOR, (DEMO_REGENCY,)),
    DemoAccount("operator", "oper-Wani-2026", "Operator Gedung Wani", Role.VILLAGE_OPERATOR, (DEMO_VILLAGE,)),
    DemoAccount("petugas", "lapang-Wani-2026", "Petugas Lapangan", Role.FIELD_OFFICER, (DEMO_VILLAGE,)),
    DemoAccount("viewer", "lihat-Bkl-2026", "Pemantau Provinsi", Role.VIEWER, (DEMO_PROVINCE,)),
)

# Bengkulu's 2025 call: 80,418 vulnerable workers at Rp 16,800 a month; the split by regency
# here is illustrative (proportional to village counts), not an official figure.
REGENCY_TARGETS = {
    "17.01": 8400,
    "17.02": 8300,
    "17.03": 11700,
    "17.04": 10400,
    "17.05": 10700,
    "17.06": 8000,
    "17.07": 5500,
    "17.08": 6200,
    "17.09": 7600,
    "17.71": 3618,
}
MONTHLY_PACKAGE_IDR = 16_800


@transaction.atomic
def demo_load() -> list[DemoAccount]:
    """Loads Bengkulu if it is missing, then creates or resets the demo accounts and targets."""
    if not Area.objects.filter(code=DEMO_VILLAGE).exists():
        areas_load(province=DEMO_PROVINCE)
    for account in DEMO_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=account.username)
        user.full_name = account.full_name
        user.role = account.role
        user.is_active = True
        user.is_staff = account.role in (Role.ADMIN, Role.SUPERVISOR)
        user.is_superuser = account.role == Role.ADMIN
        user.set_password(account.password)
        user.save()
        user.assignments.exclude(area_id__in=account.areas).delete()
        for code in account.areas:
            Assignment.objects.get_or_create(user=user, area_id=code)
    for code, workers in REGENCY_TARGETS.items():
        AreaTarget.objects.update_or_create(
            area_id=code,
            year=DEMO_YEAR,
            defaults={"target_workers": workers, "budget_idr": workers * MONTHLY_PACKAGE_IDR * 12},
        )
    return list(DEMO_ACCOUNTS)
