from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    """The OpenAPI document the server publishes at /api/schema/, as a dict."""
    return SchemaGenerator().get_schema(request=None, public=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Prints what the contract tests counted (`record_property("contract", ...)`), from every
    xdist worker: the operations and requests schemathesis ran, for instance."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, value in getattr(report, "user_properties", ()):
                if name == "contract":
                    terminalreporter.write_line(f"contract: {value}")
