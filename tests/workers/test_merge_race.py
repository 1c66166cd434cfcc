"""A merge and an edit of one of its records at the same moment: the worker locks order them.

Real threads, each on its own connection; the one that comes second waits for the first's
advisory lock (checked in pg_locks) and then sees what the first committed."""

from __future__ import annotations

import datetime as dt
import io

from django.core.management import call_command

from config.errors import NotFound
from tests.conftest import committed
from tests.enrolment.test_worker_delete_race import backend_pid, hold_while_the_other_waits
from tests.factories import WorkerFactory
from villages.audit import Actor
from villages.models import AuditEvent, Role
from workers.duplicates.services import duplicate_merge
from workers.models import DuplicatePair, DuplicateStatus, Worker
from workers.services import worker_update


def pair_of_two() -> DuplicatePair:
    born = dt.date(1985, 3, 7)
    WorkerFactory(id="w-a", full_name="Yusuf Hidayat", phone="+6281200000001", birth_date=born, nik="1704010703850001")
    # The same person, NIK serial mistyped: the finder finds the pair again on every save.
    WorkerFactory(
        id="w-b", full_name="Joesoef Hidajat", phone="+6281200000002", birth_date=born, nik="1704010703850002"
    )
    call_command("refresh_match_keys", stdout=io.StringIO())  # factories bypass the save path
    return DuplicatePair.objects.get()


@committed
def test_an_edit_waits_for_the_merge_and_then_finds_the_tombstone(make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    pair = pair_of_two()

    thread, seen = hold_while_the_other_waits(
        lambda: duplicate_merge(actor=Actor(user=operator), pair_id=pair.pk, keep="w-a", fields={"phone": "w-b"}),
        backend_pid(),
    )
    try:
        worker_update(actor=Actor(user=operator), worker_id="w-b", patch={"birth_place": "Kaur"}, if_match=None)
        refused = None
    except NotFound as problem:
        refused = problem
    thread.join(10)

    assert "failure" not in seen, seen
    assert seen["awaited"] == "advisory"
    assert refused is not None
    assert Worker.objects.filter(id="w-b").values_list("merged_into_id", "birth_place", "version").get() == (
        "w-a",
        "",
        2,
    )
    assert Worker.objects.filter(id="w-a").values_list("phone", "version").get() == ("+6281200000002", 2)
    assert DuplicatePair.objects.get().status == DuplicateStatus.MERGED
    assert sorted(AuditEvent.objects.values_list("action", "object_id")) == [("delete", "w-b"), ("update", "w-a")]


@committed
def test_a_merge_waits_for_an_edit_and_merges_what_it_wrote(make_user):
    operator = make_user(role=Role.VILLAGE_OPERATOR)
    pair = pair_of_two()

    thread, seen = hold_while_the_other_waits(
        lambda: worker_update(
            actor=Actor(user=operator), worker_id="w-a", patch={"birth_place": "Bintuhan"}, if_match=None
        ),
        backend_pid(),
    )
    duplicate_merge(actor=Actor(user=operator), pair_id=pair.pk, keep="w-a", fields={"phone": "w-b"})
    thread.join(10)

    assert "failure" not in seen, seen
    assert seen["awaited"] == "advisory"
    # The edit's change survives (version 2), the merge's comes on top (version 3).
    assert Worker.objects.filter(id="w-a").values_list("birth_place", "phone", "version").get() == (
        "Bintuhan",
        "+6281200000002",
        3,
    )
    assert Worker.objects.get(id="w-b").merged_into_id == "w-a"
