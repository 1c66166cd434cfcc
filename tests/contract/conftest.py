from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    """The OpenAPI document the server publishes at /api/schema/, as a dict."""
    return SchemaGenerator().get_schema(request=None, public=True)
