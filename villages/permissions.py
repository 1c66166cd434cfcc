"""Role checks. Scope (which records) is `villages.scope`; this is only what a role may do."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from villages.models import Role


def role_in(*roles: Role) -> type[BasePermission]:
    """A permission class letting through the given roles, and admins always."""

    allowed = frozenset(roles)

    class RoleIn(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            if not (user and user.is_authenticated):
                return False
            return bool(user.is_admin or user.role in allowed)

    RoleIn.__name__ = "RoleIn_" + "_".join(sorted(allowed)) if allowed else "AdminOnly"
    return RoleIn


def read_write(read: tuple[Role, ...], write: tuple[Role, ...]) -> type[BasePermission]:
    """Safe methods for `read` roles, the others for `write` roles (admins always)."""
    readers, writers = role_in(*read), role_in(*write)

    class ReadWrite(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            allowed = readers if request.method in ("GET", "HEAD", "OPTIONS") else writers
            return allowed().has_permission(request, view)

    return ReadWrite


AdminOnly = role_in()
AdminOrSupervisor = role_in(Role.SUPERVISOR)

# People's records: field staff write, supervisors read; viewers see reports only.
FIELD_ROLES = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR)
RecordAccess = read_write(read=(*FIELD_ROLES, Role.SUPERVISOR), write=FIELD_ROLES)
