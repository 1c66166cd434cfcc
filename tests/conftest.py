from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core import serializers
from django.core.management import call_command
from django.db import connections
from rest_framework.test import APIClient

from tests.factories import UserFactory, token_for
from villages.models import Role, User

BENGKULU = "17"
KAUR = "17.04"
KINAL = "17.04.01"  # a district of Kaur
GEDUNG_WANI = "17.04.01.2001"  # a village of Kinal
VILLAGE_B = "17.04.01.2002"  # its neighbour
OTHER_REGENCY_VILLAGE = "17.01.01.2001"  # Bengkulu Selatan


# For tests whose data must be committed (other threads or processes read it): a transactional
# test ends with a flush of every table, so it starts by loading back the reference rows kept by
# django_db_setup (serialized rollback). pytest-django runs these tests after all the others.
committed = pytest.mark.django_db(
    transaction=True, serialized_rollback=True, available_apps=list(django_settings.INSTALLED_APPS)
)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    """Bengkulu's real areas, loaded once per test database (tests roll back around them), and
    every row of our apps kept for the serialized rollback of `committed` tests."""

    # Our apps only: content types and permissions are recreated by post_migrate after a flush,
    # under new ids, and loading the old rows back would collide with them.
    def rows() -> Iterator[Any]:
        for label in ("villages", "workers", "enrolment"):
            for model in apps.get_app_config(label).get_models():
                yield from model._default_manager.order_by("pk").iterator()

    with django_db_blocker.unblock():
        call_command("load_areas", province=BENGKULU, stdout=open("/dev/null", "w"))  # noqa: SIM115
        # Replaces what Django serialized when it created the database (before the areas were loaded).
        connections["default"]._test_serialized_contents = serializers.serialize("json", rows())


@pytest.fixture(autouse=True)
def _isolated_cache(settings: Any) -> None:
    """Each test gets its own cache key space in the shared Redis: throttling counters of one
    test never leak into another, even with several pytest workers at once."""
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    def make(role: str = Role.FIELD_OFFICER, areas: tuple[str, ...] = (GEDUNG_WANI,), **kwargs: Any) -> User:
        return UserFactory(role=role, areas=list(areas), **kwargs)

    return make


@pytest.fixture
def api(db: Any) -> Callable[..., APIClient]:
    """`api(user)` → a client sending that user's device token; `api()` → anonymous."""

    def make(user: User | None = None, language: str | None = None, **token_kwargs: Any) -> APIClient:
        client = APIClient()
        headers: dict[str, str] = {}
        if user is not None:
            headers["HTTP_AUTHORIZATION"] = f"Token {token_for(user, **token_kwargs)}"
        if language:
            headers["HTTP_ACCEPT_LANGUAGE"] = language
        client.credentials(**headers)
        return client

    return make


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN, areas=())
