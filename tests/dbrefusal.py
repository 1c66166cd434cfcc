"""Make the database refuse every query the way PostgreSQL does under load: the driver's error with
its real SQLSTATE, wrapped by Django into OperationalError as for a real refusal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg.errors
import pytest
from django.db.backends.utils import CursorWrapper


@contextmanager
def database_refuses(monkeypatch: pytest.MonkeyPatch, error: type[psycopg.errors.Error]) -> Iterator[None]:
    def refuse(self: CursorWrapper, *args: Any, **kwargs: Any) -> None:
        with self.db.wrap_database_errors:
            raise error("refused under load")

    with monkeypatch.context() as patched:
        patched.setattr(CursorWrapper, "_execute_with_wrappers", refuse)
        yield
