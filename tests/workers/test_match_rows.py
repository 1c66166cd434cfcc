"""The duplicate finder's one match row per worker (workers_matchname: name, birth date and the
exact keys as columns), kept in step with saves, deletions and merges, and rebuilt from the
former key rows by migration workers 0016. Runs on PostgreSQL and on SQLite (scripts/test)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from config.pii import blind_index
from tests.conftest import GEDUNG_WANI, committed
from tests.factories import make_nik, worker_payload
from villages.audit import Actor
from villages.models import AuditEvent, Role
from workers.duplicates.services import duplicate_merge
from workers.models import DuplicatePair, MatchName, Worker

ROW_FIELDS = ("worker_id", "name_key", "birth_date", "nik_key", "nik_part_key", "kk_key", "phone_key")


@pytest.fixture
def operator(make_user):
    return make_user(role=Role.VILLAGE_OPERATOR, areas=(GEDUNG_WANI,))


def bulk(api, user, *bodies: dict[str, Any]) -> None:
    response = api(user).post("/api/v1/workers/bulk", {"records": list(bodies)}, format="json")
    assert response.status_code == 200, response.content
    assert not response.json()["summary"]["invalid"], response.json()


def rows() -> list[tuple[Any, ...]]:
    return [tuple(r) for r in MatchName.objects.order_by("worker_id").values_list(*ROW_FIELDS)]


def expected(worker_id: str) -> tuple[Any, ...]:
    """The row a save writes: the NIK, KK and phone keys are the worker's own blind indexes."""
    w = Worker.objects.get(id=worker_id)
    part = blind_index(w.nik[:12], purpose="nik-region-date") if w.nik else ""
    return (w.id, "yusuf hidayat", w.birth_date, w.nik_bi, part, w.kk_bi, w.phone_bi)


def person(**overrides: Any) -> dict[str, Any]:
    values = {"full_name": "H. Yoesoef Hidajat", "birth_date": "1985-03-07", "kk_number": "1704011234567890"}
    return worker_payload(**{**values, **overrides})


def test_a_saved_worker_has_one_row_with_its_keys(api, operator):
    with_keys = person(id="w-keys")
    without = person(id="w-bare", nik="", kk_number="", phone="", birth_date="1985-04-07")
    bulk(api, operator, with_keys, without)

    w = Worker.objects.get(id="w-keys")
    assert rows() == [("w-bare", "yusuf hidayat", w.birth_date.replace(month=4), "", "", "", ""), expected("w-keys")]
    assert w.nik_bi == blind_index(with_keys["nik"], purpose="nik")
    assert w.phone_bi == blind_index("+6281234567890", purpose="phone")
    assert len({w.nik_bi, w.kk_bi, w.phone_bi, rows()[1][4]}) == 4  # four kinds, four digests


def test_a_changed_nik_rewrites_the_row(api, operator):
    bulk(api, operator, person(id="w-keys"))
    before = rows()

    new_nik = make_nik(Worker.objects.get(id="w-keys").birth_date, "M", region="170402")
    bulk(api, operator, person(id="w-keys", nik=new_nik))

    after = rows()
    assert after == [expected("w-keys")]
    assert after[0][3] == blind_index(new_nik, purpose="nik") != before[0][3]
    assert after[0][4] == blind_index(new_nik[:12], purpose="nik-region-date") != before[0][4]
    assert after[0][5:] == before[0][5:]


def test_a_deleted_worker_loses_its_row(api, operator):
    bulk(api, operator, person(id="w-keys"), person(id="w-other", nik="", birth_date="1970-01-01"))

    response = api(operator).delete("/api/v1/workers/w-keys")

    assert response.status_code == 204, response.content
    assert [r[0] for r in rows()] == ["w-other"]
    Worker.objects.filter(id="w-other").delete()  # no database foreign key: Django's CASCADE
    assert rows() == []


def test_an_erased_worker_loses_its_row_and_its_open_pairs(api, operator):
    bulk(
        api,
        operator,
        person(id="w-keys"),
        person(id="w-other", nik="", kk_number="", phone="", birth_date="1970-01-01"),
    )
    bulk(api, operator, person(id="w-twin", nik="", full_name="Yusuf Hidayat"), person(id="w-kept", nik=""))
    assert sorted(DuplicatePair.objects.values_list("a_id", "b_id")) == [
        ("w-kept", "w-keys"), ("w-kept", "w-twin"), ("w-keys", "w-twin"),
    ]  # fmt: skip
    DuplicatePair.objects.filter(a_id="w-kept", b_id="w-keys").update(status="dismissed")
    request = {"reason": "permintaan subjek data", "request_reference": "SR-2026-014"}

    response = api(operator).post("/api/v1/workers/w-keys/erase", request, format="json")

    assert response.status_code == 200, response.content
    assert [r[0] for r in rows()] == ["w-kept", "w-other", "w-twin"]
    # The open pairs with the erased record went; the dismissal stays as a decision, ids only.
    assert sorted(DuplicatePair.objects.values_list("a_id", "b_id", "status")) == [
        ("w-kept", "w-keys", "dismissed"), ("w-kept", "w-twin", "open"),
    ]  # fmt: skip
    event = AuditEvent.objects.get(action="erase", object_id="w-keys")
    assert event.context["duplicate_pairs"] == 1


def test_a_merge_removes_the_losers_row_and_rewrites_the_survivors(api, operator):
    bulk(api, operator, person(id="w-first", phone="081311122233"))
    bulk(api, operator, person(id="w-second", nik="", full_name="Yusuf Hidayat"))
    pair = DuplicatePair.objects.get()
    first_phone = rows()[0][6]

    duplicate_merge(actor=Actor(user=operator), pair_id=pair.pk, keep="w-second", fields={"nik": "w-first"})

    assert rows() == [expected("w-second")]
    survivor = Worker.objects.get(id="w-second")
    assert survivor.nik == Worker.objects.get(id="w-first").nik
    assert rows()[0][6] == blind_index("+6281234567890", purpose="phone") != first_phone


@committed
def test_the_migration_rebuilds_the_rows_from_the_former_key_rows(api, operator):
    bulk(api, operator, person(id="w-keys"), person(id="w-bare", nik="", phone="", birth_date="1985-04-07"))
    saved = rows()
    executor = MigrationExecutor(connection)
    before, after = [("workers", "0015_verbose_names")], [("workers", "0016_match_keys_as_columns")]

    executor.migrate(before)  # backwards: the columns become key rows again
    with connection.cursor() as cursor:
        cursor.execute("SELECT worker_id, count(*) FROM workers_matchkey GROUP BY worker_id ORDER BY worker_id")
        key_rows = cursor.fetchall()
    executor.loader.build_graph()
    executor.migrate(after)

    assert key_rows == [("w-bare", 1), ("w-keys", 4)]  # KK; NIK, its region + date part, KK, phone
    assert rows() == saved
    assert saved[1] == expected("w-keys")
    assert "workers_matchkey" not in connection.introspection.table_names()
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # the later migrations again


def test_match_rows_have_their_indexes_and_no_prefix_index_on_the_worker_id(db):
    """One index per searched column. On PostgreSQL Django also gives every varchar key a
    varchar_pattern_ops index (on worker_id here); workers 0017 drops it, since nothing searches
    match rows by a prefix of the id (SQLite never had one)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "workers_matchname")
    indexes = sorted(
        (name, found["columns"]) for name, found in constraints.items() if found["index"] and not found["primary_key"]
    )
    assert indexes == [
        ("matchname_birth_date", ["birth_date"]),
        ("matchname_kk_key", ["kk_key"]),
        ("matchname_nik_key", ["nik_key"]),
        ("matchname_nik_part_key", ["nik_part_key"]),
        ("matchname_phone_key", ["phone_key"]),
    ]
