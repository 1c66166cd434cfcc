import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from tests.conftest import GEDUNG_WANI, committed
from villages.models import Area, AuditEvent, Role, SyncClock
from workers.models import FundingSource, Occupation


@committed
def test_a_committed_test_starts_with_the_reference_rows_and_can_flush(make_user):
    """Runs after other transactional tests have flushed the database (pytest-django orders them
    last), so the reference rows it sees were loaded back by the serialized rollback; its own
    committed rows are flushed at the end (no stray foreign keys such as knox's old table)."""
    assert Area.objects.filter(code__startswith="17.", level="village").count() == 1513
    assert Area.objects.filter(code=GEDUNG_WANI).exists()
    assert Occupation.objects.count() == 24
    assert FundingSource.objects.count() == 8
    make_user(role=Role.FIELD_OFFICER)
    AuditEvent.objects.create(action="view", object_type="worker")
    assert AuditEvent.objects.count() == 1


@committed
def test_a_second_committed_test_sees_none_of_the_first_ones_rows():
    assert AuditEvent.objects.count() == 0
    assert Occupation.objects.count() == 24


def test_flush_empties_the_audit_log_and_its_append_only_trigger_still_holds(db):
    """PostgreSQL's flush is a TRUNCATE, which fires no row trigger; on SQLite the flush command
    (villages/management/commands/flush.py) sets the triggers aside and puts them back."""
    AuditEvent.objects.create(action="view", object_type="worker")
    call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
    assert AuditEvent.objects.count() == 0

    event = AuditEvent.objects.create(action="view", object_type="worker")
    for write in (lambda: AuditEvent.objects.filter(pk=event.pk).delete(), lambda: event.save()):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            write()
    assert AuditEvent.objects.count() == 1
    if connection.vendor == "sqlite":
        assert SyncClock.objects.filter(pk=1).exists()
