"""The Indonesian catalogue is complete and its compiled .mo matches the .po."""

from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "id" / "LC_MESSAGES"


def test_every_message_is_translated():
    po = polib.pofile(str(LOCALE / "django.po"))
    assert [e.msgid for e in po if not e.msgstr or "fuzzy" in e.flags] == []


def test_compiled_catalogue_matches_the_source():
    po = {e.msgid: e.msgstr for e in polib.pofile(str(LOCALE / "django.po")) if not e.obsolete}
    mo = {e.msgid: e.msgstr for e in polib.mofile(str(LOCALE / "django.mo")) if e.msgid}
    assert mo == po, "run: python manage.py compilemessages -l id --ignore=.venv"
