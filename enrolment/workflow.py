"""Who may move an enrolment from which status to which.

    draft → submitted → verified → queued → active
                 ↘ rejected ↙ (operator or registry; correct and submit again)
    verified | active → ended (supervisor: death, moved, funding ended)

Officials make the human moves; `queued`, `active` and the registry's rejections are made by the
registry sync (the system actor) only.
"""

from __future__ import annotations

from enrolment.models import Status
from villages.models import Role, User

HUMAN_TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (Status.DRAFT, Status.SUBMITTED): frozenset({Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR}),
    (Status.REJECTED, Status.SUBMITTED): frozenset({Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR}),
    (Status.SUBMITTED, Status.VERIFIED): frozenset({Role.VILLAGE_OPERATOR}),
    (Status.SUBMITTED, Status.REJECTED): frozenset({Role.VILLAGE_OPERATOR}),
    (Status.VERIFIED, Status.REJECTED): frozenset({Role.VILLAGE_OPERATOR}),
    (Status.VERIFIED, Status.ENDED): frozenset({Role.SUPERVISOR}),
    (Status.ACTIVE, Status.ENDED): frozenset({Role.SUPERVISOR}),
}

SYSTEM_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (Status.VERIFIED, Status.QUEUED),
        (Status.QUEUED, Status.VERIFIED),  # a batch given back (e.g. an operator cancels it)
        (Status.QUEUED, Status.ACTIVE),
        (Status.QUEUED, Status.REJECTED),
        (Status.ACTIVE, Status.ENDED),  # reconciliation: deceased, ended
        (Status.VERIFIED, Status.ENDED),  # reconciliation: a renewal of a participant reported deceased or ended
    }
)

# The action endpoints and the status each one moves to.
ACTIONS: dict[str, str] = {
    "submit": Status.SUBMITTED,
    "verify": Status.VERIFIED,
    "reject": Status.REJECTED,
    "end": Status.ENDED,
}
ACTIONS_NEEDING_REASON = frozenset({"reject", "end"})

# Statuses in which the enrolment's own fields may still be edited.
EDITABLE_STATUSES = frozenset({Status.DRAFT, Status.SUBMITTED, Status.REJECTED})
# The statuses a client may ask for when creating or pushing a record.
CLIENT_STATUSES = frozenset({Status.DRAFT, Status.SUBMITTED})


def may_move(user: User | None, source: str, target: str) -> bool:
    """True when `user` (None: the system) may move an enrolment from `source` to `target`."""
    if user is None:
        return (source, target) in SYSTEM_TRANSITIONS
    roles = HUMAN_TRANSITIONS.get((source, target))
    if roles is None:
        return False
    return user.is_admin or user.role in roles
