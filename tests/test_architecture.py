"""The import contracts (pyproject.toml, checked by `lint-imports` in scripts/test) see every package.

import-linter only analyses the root packages it is given: a new top-level app left out of the
list would be checked by nothing. This test fails until it is listed, and placed in the layers."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_APP_CODE = {"tests", "bench", "e2e", "scripts", "docs", "var", "locale"}


def test_every_top_level_package_is_under_the_import_contracts():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_APP_CODE
    layered = {
        name.strip(" ()")
        for contract in config["contracts"]
        if contract["type"] == "layers"
        for layer in contract["layers"]
        for name in layer.split("|")
    }

    assert sorted(packages - set(config["root_packages"])) == []
    assert sorted(packages - layered - {"registry_stub"}) == []
