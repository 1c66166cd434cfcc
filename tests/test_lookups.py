"""config.lookups: `__any` finds exactly what `__in` finds, as one array parameter."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.lookups import text_array
from enrolment.models import Enrolment
from tests.factories import EnrolmentFactory, WorkerFactory, make_nik
from workers.models import Worker

AWKWARD = ['a"b', "c\\d", "e,f", "{g}", " h ", "NULL", "", "Ünal"]


@pytest.mark.parametrize("values", [["a", "b"], [], AWKWARD, ["x"]])
def test_text_array_is_read_back_by_postgresql_as_the_same_strings(db, values):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [text_array(values)])
        assert cursor.fetchone()[0] == values


def test_any_matches_in_for_keys_names_and_foreign_keys(db):
    first, second = WorkerFactory(nik=make_nik(serial=1)), WorkerFactory(nik=make_nik(serial=2))
    enrolment = EnrolmentFactory(worker=first)
    wanted = {first.id, "not-there", *AWKWARD}

    assert set(Worker.objects.filter(id__any=wanted)) == set(Worker.objects.filter(id__in=wanted)) == {first}
    assert list(Worker.objects.filter(nik_bi__any={second.nik_bi})) == [second]
    assert list(Enrolment.objects.filter(worker_id__any={first.id, second.id})) == [enrolment]
    assert list(Enrolment.objects.filter(worker__any={first.id})) == [enrolment]


def test_any_with_nothing_to_match_sends_no_query(db):
    with CaptureQueriesContext(connection) as queries:
        assert list(Worker.objects.filter(id__any=set())) == []
    assert len(queries.captured_queries) == 0


def test_any_sends_the_list_as_one_parameter(db):
    with CaptureQueriesContext(connection) as queries:
        list(Worker.objects.filter(id__any={f"w{n}" for n in range(1000)}))
    (query,) = queries.captured_queries
    assert "= ANY(" in query["sql"]
    assert query["sql"].count("'") == 2  # one quoted array, not a thousand literals
