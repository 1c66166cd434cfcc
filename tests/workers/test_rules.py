"""workers.rules: the enrolment app's answers are provided explicitly, and their absence is loud."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from enrolment.services.worker_rules import EnrolmentWorkerRules
from workers.apps import _enrolment_rules_provided
from workers.rules import enrolment_rules


class HalfAnswer:
    def nik_locked(self, worker_ids):
        return set()


@pytest.fixture
def fresh_rules():
    enrolment_rules.cache_clear()
    yield
    enrolment_rules.cache_clear()


def test_the_configured_provider_answers(fresh_rules):
    assert isinstance(enrolment_rules(), EnrolmentWorkerRules)
    assert _enrolment_rules_provided() == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "WORKERS_ENROLMENT_RULES is not set"),
        ("enrolment.services.worker_rules.NoSuchProvider", "cannot import"),
        ("tests.workers.test_rules.HalfAnswer", "does not answer every EnrolmentRules question"),
    ],
)
def test_no_provider_fails_loudly(fresh_rules, settings, path, message):
    settings.WORKERS_ENROLMENT_RULES = path

    with pytest.raises(ImproperlyConfigured, match=message):
        enrolment_rules()
    (error,) = _enrolment_rules_provided()
    assert error.id == "workers.E001"
    assert message in error.msg
