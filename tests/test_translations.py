"""Every Indonesian catalogue is complete and its compiled .mo matches the .po."""

from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted(
    p
    for p in ROOT.glob("**/id/LC_MESSAGES/django.po")
    if "locale" in p.relative_to(ROOT).parts and not {".venv", "var", "node_modules"} & set(p.relative_to(ROOT).parts)
)


def test_the_base_and_the_area_catalogues_are_found():
    assert ROOT / "locale" / "id" / "LC_MESSAGES" / "django.po" in CATALOGUES
    areas = [p for p in (ROOT / "locale").iterdir() if (p / "id" / "LC_MESSAGES" / "django.po").exists()]
    assert {p / "id" / "LC_MESSAGES" / "django.po" for p in areas} <= set(CATALOGUES)


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_message_is_translated(po_path: Path):
    po = polib.pofile(str(po_path))
    assert [e.msgid for e in po if not e.msgstr or "fuzzy" in e.flags] == []


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiled_catalogue_matches_the_source(po_path: Path):
    po = {e.msgid: e.msgstr for e in polib.pofile(str(po_path)) if not e.obsolete}
    mo = {e.msgid: e.msgstr for e in polib.mofile(str(po_path.with_suffix(".mo"))) if e.msgid}
    assert mo == po, "run: python manage.py compilemessages -l id --ignore=.venv"
