"""The import contracts (pyproject.toml, checked by `lint-imports` in scripts/test) see every package.

import-linter only analyses the root packages it is given: a new top-level app left out of the
list would be checked by nothing. This test fails until it is listed, and placed in the layers."""

import ast
import re
import tomllib
from collections import Counter
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


def _celery_assignments(tree: ast.Module) -> list[str]:
    """Every top-level CELERY_* name bound in settings: `X = ...`, `X: T = ...`, `X += ...`, `X[k] = ...`."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # CELERY_BEAT_SCHEDULE.update(...) / .setdefault(...) is an assignment too.
            if isinstance(node.func.value, ast.Name) and node.func.value.id.startswith("CELERY_"):
                names.append(node.func.value.id)
            continue
        else:
            continue
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple | ast.List) else [target]:
                while isinstance(element, ast.Subscript):  # CELERY_BEAT_SCHEDULE["x"] = ...
                    element = element.value
                if isinstance(element, ast.Name) and element.id.startswith("CELERY_"):
                    names.append(element.id)
    return names


def test_celery_is_configured_in_one_block_of_settings():
    """One Celery block: each CELERY_* setting bound once, the beat schedule one dict literal."""
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    names = _celery_assignments(tree)

    assert "CELERY_BEAT_SCHEDULE" in names
    assert "CELERY_TASK_ROUTES" in names
    assert sorted(name for name, count in Counter(names).items() if count > 1) == []
    beat = next(
        node
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "CELERY_BEAT_SCHEDULE"
    )
    assert isinstance(beat.value, ast.Dict)


def test_the_celery_check_catches_an_item_added_later():
    tree = ast.parse('CELERY_BEAT_SCHEDULE = {}\nX = 1\nCELERY_BEAT_SCHEDULE["late"] = {"task": "t"}\n')

    assert _celery_assignments(tree) == ["CELERY_BEAT_SCHEDULE", "CELERY_BEAT_SCHEDULE"]


GENERIC_MODULES = {"models", "services", "selectors", "serializers", "views", "urls", "admin", "tasks", "apps"}


def _where_things_live() -> set[Path]:
    """Every path the README's "Where things live" bullets name, resolved against the bullet's
    package (its first `dir/`) or the last folder the bullet named before (`services/`: `pull.py`).
    Fails on a name that resolves to nothing."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Where things live\n", 1)[1].split("\n## ", 1)[0]
    bullets: list[str] = []
    for line in section.splitlines():
        if re.match(r"\s*- ", line):
            bullets.append(line)
        elif bullets and line.startswith("  ") and line.strip():
            bullets[-1] += " " + line.strip()
        elif not line.strip() and bullets:
            bullets.append("")  # the bullets end at the first blank line after them
            break
    named: set[Path] = set()
    missing: list[str] = []
    for bullet in filter(None, bullets):
        tokens = [t for t in re.findall(r"`([^`]+)`", bullet) if t.endswith((".py", "/"))]
        base = ROOT / tokens[0]
        folder = base
        for token in tokens:
            found = next((c for c in (folder / token, base / token, ROOT / token) if c.exists()), None)
            if found is None:
                missing.append(f"{token} (in {tokens[0]})")
                continue
            named.add(found.resolve())
            if token.endswith("/"):
                folder = found
    assert missing == []
    return named


def test_the_readme_names_every_package_and_module_that_exists():
    named = _where_things_live()
    apps = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_APP_CODE
    unnamed: list[str] = []
    for app in sorted(apps):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or "commands" in relative.parts:
                continue  # named with their `management/`
            if path.name == "__init__.py":
                if path.parent.resolve() not in named:
                    unnamed.append(f"{path.parent.relative_to(ROOT)}/")
                continue
            big = len(path.read_text().splitlines()) > 100
            if big and path.stem not in GENERIC_MODULES and path.resolve() not in named:
                unnamed.append(str(relative))

    assert unnamed == []
