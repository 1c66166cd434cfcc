import pytest

from villages.models import AuditEvent, Role


@pytest.mark.django_db(transaction=True)
def test_transactional_tests_can_flush_the_database(make_user):
    """Committed data, then TRUNCATE at teardown: needs no stray foreign keys (knox_authtoken)."""
    make_user(role=Role.FIELD_OFFICER)
    AuditEvent.objects.create(action="view", object_type="worker")
    assert AuditEvent.objects.count() == 1


def test_areas_are_back_after_a_flush(db):
    """Runs after the transactional test above (same module, same worker)."""
    from villages.models import Area

    assert Area.objects.filter(code__startswith="17.", level="village").count() == 1513
