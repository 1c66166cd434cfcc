"""What worker writes must ask of enrolments, without the workers app importing them.

Dependencies point one way (enrolment → workers → villages), yet a few worker rules depend on
enrolments: a person known to the registry keeps their NIK, a person with a verified enrolment
cannot just be deleted, a deleted person's drafts go with them, and enrolments follow their
worker to a new village. `EnrolmentRules` is that question list; the enrolment app answers it
(`enrolment.services.worker_rules.EnrolmentWorkerRules`), named by the setting
`WORKERS_ENROLMENT_RULES`. Nothing answers by default: with the setting missing or naming
something that does not answer every question, `manage.py check` fails (workers.E001) and so
does every worker write that asks, rather than silently allowing what it should refuse.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.providers import provider
from villages.audit import Actor


@runtime_checkable
class EnrolmentRules(Protocol):
    def nik_locked(self, worker_ids: Collection[str]) -> set[str]:
        """Ids among `worker_ids` whose NIK the registry already holds (it must not change)."""
        ...

    def undeletable(self, worker_ids: Collection[str]) -> set[str]:
        """Ids among `worker_ids` that may not be deleted (an enrolment past `submitted`)."""
        ...

    def before_delete(self, actor: Actor, worker_ids: Collection[str]) -> None:
        """Called inside the delete's transaction, under the workers' locks (tombstones drafts)."""
        ...

    def village_changed(self, actor: Actor, moves: Mapping[str, str]) -> None:
        """Called inside the save's transaction, under the workers' locks: {worker id: new village}."""
        ...

    def worker_merged(self, actor: Actor, *, loser: str, survivor: str, village_id: str) -> None:
        """Called inside a merge's transaction, under both workers' locks: the loser's enrolments
        move to the survivor (and its village). Raises MergeBothEnrolled when both hold a live one."""
        ...


@functools.cache
def enrolment_rules() -> EnrolmentRules:
    """The provider the setting names (a class, instantiated once, or an instance).

    Raises ImproperlyConfigured when the setting is missing, cannot be imported or names
    something that is not an EnrolmentRules."""
    path = getattr(settings, "WORKERS_ENROLMENT_RULES", "")
    if not path:
        raise ImproperlyConfigured("WORKERS_ENROLMENT_RULES is not set: name the EnrolmentRules provider.")
    return provider(
        "WORKERS_ENROLMENT_RULES", path, EnrolmentRules, not_one="does not answer every EnrolmentRules question"
    )
