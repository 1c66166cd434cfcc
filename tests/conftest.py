from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import UserFactory, token_for
from villages.models import Role, User

BENGKULU = "17"
KAUR = "17.04"
KINAL = "17.04.01"  # a district of Kaur
GEDUNG_WANI = "17.04.01.2001"  # a village of Kinal
VILLAGE_B = "17.04.01.2002"  # its neighbour
OTHER_REGENCY_VILLAGE = "17.01.01.2001"  # Bengkulu Selatan


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    """Bengkulu's real areas, loaded once per test database (tests roll back around them)."""
    with django_db_blocker.unblock():
        call_command("load_areas", province=BENGKULU, stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture(autouse=True)
def _areas_loaded(request: pytest.FixtureRequest, django_db_blocker: Any) -> None:
    """Puts Bengkulu's areas back after a transactional test flushed the database.

    Runs before the test's own transaction starts (autouse fixtures come first), so the reload is
    committed and every later test sees it; when the areas are there it costs one query.
    """
    if "django_db_setup" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        return
    request.getfixturevalue("django_db_setup")
    from villages.models import Area

    with django_db_blocker.unblock():
        if not Area.objects.filter(code=GEDUNG_WANI).exists():
            call_command("load_areas", province=BENGKULU, stdout=open("/dev/null", "w"))  # noqa: SIM115


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
