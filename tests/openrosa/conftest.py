from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from tests.conftest import GEDUNG_WANI
from tests.factories import PASSWORD
from villages.models import Role, User


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    # Digest credentials come from set_password; the suite's default hasher costs ~0.5 s a user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _keep_test_connection() -> Iterator[None]:
    """A WSGI request closes "old" database connections when it starts and ends; Django's test
    client switches that off so requests run in the test's transaction, and so do these tests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def odk_user(make_user: Callable[..., User]) -> Callable[..., User]:
    """An official whose password was set the way every password is (so Digest can work)."""

    def make(role: str = Role.FIELD_OFFICER, areas: tuple[str, ...] = (GEDUNG_WANI,)) -> User:
        user = make_user(role=role, areas=areas)
        user.set_password(PASSWORD)
        user.save()
        return user

    return make


@pytest.fixture
def officer(odk_user: Callable[..., User]) -> User:
    return odk_user()
