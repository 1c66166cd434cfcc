"""`manage.py load_demo` (what ./scripts/run loads): the demo officials and Gedung Wani's people.

It runs in the SQLite step of scripts/test too, as the embedded default loads it there."""

from __future__ import annotations

import io

from django.core.management import call_command

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI
from villages.models import AreaTarget, User
from workers.models import Worker


def test_load_demo_creates_the_officials_and_gedung_wanis_people(db):
    out = io.StringIO()
    call_command("load_demo", stdout=out)

    assert out.getvalue().startswith("Demo data: 20 workers with enrolments in Gedung Wani (17.04.01.2001).")
    assert dict(User.objects.values_list("username", "role")) == {
        "admin": "admin",
        "operator": "village_operator",
        "petugas": "field_officer",
        "supervisor": "supervisor",
        "viewer": "viewer",
    }
    assert User.objects.get(username="petugas").check_password("lapang-Wani-2026")
    assert set(Worker.objects.values_list("village_id", flat=True)) == {GEDUNG_WANI}
    assert Worker.objects.count() == 20
    statuses = {s: Enrolment.objects.filter(status=s).count() for s in ("draft", "rejected", "submitted", "verified")}
    assert statuses == {"draft": 4, "rejected": 1, "submitted": 7, "verified": 8}
    assert Enrolment.objects.count() == 20
    assert AreaTarget.objects.count() == 10
