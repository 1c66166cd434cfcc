"""What the enrolment app tells the workers app, without workers importing enrolment.

Dependencies point one way (enrolment → workers → villages). A few worker rules depend on
enrolments (a person known to the registry keeps their NIK; a person with a verified enrolment
cannot just be deleted), so `EnrolmentConfig.ready()` installs these functions. The defaults
allow everything, which is right for the workers app on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from villages.audit import Actor


def _nobody(worker_ids: Collection[str]) -> set[str]:
    return set()


def _nothing(actor: Actor, worker_ids: Collection[str]) -> None:
    return None


# Ids among `worker_ids` whose NIK the registry already holds (it must not change).
nik_locked: Callable[[Collection[str]], set[str]] = _nobody
# Ids among `worker_ids` that may not be deleted (an enrolment past `submitted` is live).
undeletable: Callable[[Collection[str]], set[str]] = _nobody
# Called inside the delete transaction for workers being deleted (tombstones their drafts).
before_delete: Callable[[Actor, Collection[str]], None] = _nothing


# Called inside the transaction when workers move to another village ({worker id: village}).
def _no_moves(actor: Actor, moves: Mapping[str, str]) -> None:
    return None


village_changed: Callable[[Actor, Mapping[str, str]], None] = _no_moves
