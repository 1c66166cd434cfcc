"""Typed factories for the suite. Areas come from the real Kemendagri data (see conftest)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import factory
from knox.settings import knox_settings

from enrolment.models import Enrolment, Status
from villages.models import Assignment, Device, DeviceToken, Role, User
from workers.models import Worker

PASSWORD = "kata-Sandi-2026"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"official{n}")
    full_name = factory.Faker("name", locale="id_ID")
    role = Role.FIELD_OFFICER
    is_staff = factory.LazyAttribute(lambda o: o.role in (Role.ADMIN, Role.SUPERVISOR))
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def areas(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            Assignment.objects.bulk_create([Assignment(user=self, area_id=code) for code in extracted])


def token_for(user: User, device_id: str = "test-device", expiry: Any = knox_settings.TOKEN_TTL) -> str:
    """A live token for `user` on a device, issued the way login issues it."""
    device, _ = Device.objects.get_or_create(user=user, device_id=device_id)
    _instance, token = DeviceToken.objects.create(user=user, device=device, expiry=expiry)
    return token


# --- people and enrolments ---------------------------------------------------------------------

_serials = itertools.count(1)


def make_nik(
    born: dt.date = dt.date(1990, 1, 1), sex: str = "M", region: str = "170401", serial: int | None = None
) -> str:
    """A structurally valid NIK for a birth date and sex (women: day + 40)."""
    day = born.day + (40 if sex == "F" else 0)
    return f"{region}{day:02d}{born.month:02d}{born.year % 100:02d}{(serial or next(_serials)) % 10000 or 1:04d}"


def worker_payload(**overrides: Any) -> dict[str, Any]:
    """A valid POST /workers body for Gedung Wani (17.04.01.2001)."""
    born = dt.date.fromisoformat(overrides.pop("birth_date", "1990-01-01"))
    sex = overrides.pop("sex", "M")
    body: dict[str, Any] = {
        "id": f"w-{next(_serials)}",
        "nik": make_nik(born, sex),
        "full_name": "Siti Aminah",
        "birth_date": born.isoformat(),
        "birth_place": "Kaur",
        "sex": sex,
        "phone": "081234567890",
        "village": "17.04.01.2001",
        "address": {"street": "Jl. Pantai", "dusun": "Dusun I", "rt": "001", "rw": "002"},
        "occupation": "nelayan",
        "monthly_income": 1_500_000,
        "mother_maiden_name": "Fatimah",
        "heirs": [{"name": "Rahmat", "relationship": "child", "nik": make_nik(dt.date(2010, 5, 5)), "phone": ""}],
        "consent": {"given_at": "2026-11-20T09:00:00+07:00", "method": "signature", "recorded_by": "petugas"},
    }
    body.update(overrides)
    return body


class WorkerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Worker

    id = factory.Sequence(lambda n: f"wf-{n}")
    village_id = "17.04.01.2001"
    nik = factory.LazyFunction(lambda: make_nik())
    full_name = factory.Faker("name", locale="id_ID")
    birth_date = dt.date(1990, 1, 1)
    sex = "M"
    occupation_id = "nelayan"
    monthly_income = 1_000_000
    consent_given_at = factory.LazyFunction(lambda: dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC))
    consent_method = "signature"


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrolment

    id = factory.Sequence(lambda n: f"ef-{n}")
    worker = factory.SubFactory(WorkerFactory)
    village_id = factory.LazyAttribute(lambda o: o.worker.village_id)
    programs = factory.LazyFunction(lambda: ["JKK", "JKM"])
    funding_source_id = "apbd_kabupaten"
    budget_year = 2026
    coverage_start = dt.date(2026, 12, 1)
    monthly_contribution = 16_800
    annual_contribution = 16_800 * 12
    status = Status.DRAFT
    status_reason = factory.LazyAttribute(
        lambda o: "data tidak lengkap" if o.status in (Status.REJECTED, Status.ENDED) else ""
    )
    registry_number = factory.LazyAttribute(lambda o: "12345678901" if o.status == Status.ACTIVE else "")
