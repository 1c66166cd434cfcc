"""Typed factories for the suite. Areas come from the real Kemendagri data (see conftest)."""

from __future__ import annotations

from typing import Any

import factory
from knox.settings import knox_settings

from villages.models import Assignment, Device, DeviceToken, Role, User

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
