"""Reads shared by views, admin and other apps."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from villages.models import Area, Assignment, Device, DeviceToken, Role, User
from villages.scope import Scope, scope_of, scoped

# Roles a supervisor manages (accounts and devices) inside its areas.
MANAGED_BY_SUPERVISORS = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.VIEWER)


def area_list(
    *, user: User, parent: str | None = None, level: str | None = None, q: str | None = None, active: bool | None = None
) -> QuerySet[Area]:
    """Areas inside the caller's scope, filtered. `parent` alone: its children; with `level`:
    its descendants at that level (`?parent=17.04&level=village`: every village of Kaur)."""
    areas = scoped(Area.objects.all(), user, "code")
    if parent and level:
        areas = areas.filter(code__startswith=f"{parent}.")
    elif parent:
        areas = areas.filter(parent_id=parent)
    if level:
        areas = areas.filter(level=level)
    if q:
        areas = areas.filter(Q(name__icontains=q) | Q(code__startswith=q))
    if active is not None:
        areas = areas.filter(active=active)
    return areas


def users_in_scope(*, scope: Scope) -> QuerySet[User]:
    """Officials whose every assigned area lies inside `scope` (all of them for admins)."""
    users = User.objects.prefetch_related("assignments")
    if scope.everything:
        return users
    inside = Assignment.objects.filter(scope.q("area__code"), user=OuterRef("pk"))
    outside = Assignment.objects.filter(user=OuterRef("pk")).exclude(scope.q("area__code"))
    return users.filter(Exists(inside)).exclude(Exists(outside))


def device_list(*, user: User) -> QuerySet[Device]:
    """Devices of the officials the caller manages (admins: all; a supervisor: its own and those
    of the field officers, operators and viewers inside its areas, never a peer supervisor's),
    with `signed_in` (holds a live token)."""
    live = DeviceToken.objects.filter(device=OuterRef("pk"), expiry__gt=timezone.now())
    owners = users_in_scope(scope=scope_of(user))
    if not user.is_admin:
        owners = owners.filter(Q(role__in=MANAGED_BY_SUPERVISORS) | Q(pk=user.pk))
    return Device.objects.filter(user__in=owners).select_related("user").annotate(signed_in=Exists(live))
