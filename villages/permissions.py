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


AdminOnly = role_in()
AdminOrSupervisor = role_in(Role.SUPERVISOR)
