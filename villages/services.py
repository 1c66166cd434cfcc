"""Writes for areas, targets, officials and their devices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import authenticate, password_validation, user_logged_in
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.settings import knox_settings

from config.errors import FieldsInvalid, NotFound, PermissionDenied, ServiceError
from villages.auth import LoginGuard
from villages.models import Area, AreaLevel, AreaTarget, Assignment, Device, DeviceToken, Role, User
from villages.scope import Scope, forget_scope, scope_of
from villages.selectors import MANAGED_BY_SUPERVISORS


class InvalidCredentials(ServiceError):
    code = "invalid_credentials"
    status_code = 401
    default_message = _("Wrong username or password.")


# Which levels each role may be assigned to. A field officer or operator works in villages; a
# supervisor oversees a regency or a district; a viewer reads reports for any area.
ASSIGNABLE_LEVELS: dict[str, set[str]] = {
    Role.FIELD_OFFICER: {AreaLevel.VILLAGE},
    Role.VILLAGE_OPERATOR: {AreaLevel.VILLAGE},
    Role.SUPERVISOR: {AreaLevel.REGENCY, AreaLevel.DISTRICT},
    Role.VIEWER: {AreaLevel.PROVINCE, AreaLevel.REGENCY, AreaLevel.DISTRICT, AreaLevel.VILLAGE},
    Role.ADMIN: set(),
}
# Roles a supervisor may create and manage inside its own scope (the selectors use the same list).
SUPERVISOR_MANAGED_ROLES = set(MANAGED_BY_SUPERVISORS)


# --- Login and devices -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    token: str
    auth_token: DeviceToken
    user: User


def auth_login(
    *,
    request: HttpRequest,
    username: str,
    password: str,
    device_id: str,
    device_name: str,
    app_version: str,
    address: str,
) -> LoginResult:
    """Checks the password and issues a token for this device, replacing its previous one.

    Raises LoginThrottled (429) when the username or the address failed too often, before the
    password is even checked, and InvalidCredentials (401) on a wrong password or an inactive
    account (the two are not told apart).
    """
    guard = LoginGuard(username=username, address=address)
    guard.check()
    user = authenticate(request, username=username, password=password)
    if user is None:
        guard.record_failure()
        raise InvalidCredentials()
    guard.reset_username()

    now = timezone.now()
    with transaction.atomic():
        device, _created = Device.objects.select_for_update().get_or_create(
            user=user, device_id=device_id, defaults={"name": device_name}
        )
        # One live token per device: logging in again on the same phone replaces the old one.
        device.tokens.all().delete()
        device.name = device_name or device.name
        device.app_version = app_version[:32] or device.app_version
        device.last_login_at = now
        device.last_seen_at = now
        device.revoked_at = None
        device.save()
        auth_token, token = DeviceToken.objects.create(user=user, device=device, expiry=knox_settings.TOKEN_TTL)
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return LoginResult(token=token, auth_token=auth_token, user=user)


def auth_logout(*, auth_token: DeviceToken) -> None:
    """Revokes the token the request came with. Idempotent: a second call finds nothing."""
    DeviceToken.objects.filter(pk=auth_token.pk).delete()


def device_revoke(*, actor: User, device: Device) -> Device:
    """Ends every token of a device at once; the next request from it gets 401.

    The official can log in again with a password; to lock someone out for good, deactivate the
    user. Idempotent.
    """
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        device.tokens.all().delete()
        if device.revoked_at is None:
            device.revoked_at = timezone.now()
            device.save(update_fields=["revoked_at"])
    return device


# --- Users -------------------------------------------------------------------------------------


def _check_assignments(*, role: str, areas: list[Area]) -> None:
    allowed = ASSIGNABLE_LEVELS[role]
    wrong = [area.code for area in areas if area.level not in allowed]
    if wrong:
        raise FieldsInvalid(
            fields={
                "areas": [
                    _("A %(role)s cannot be assigned to %(codes)s: wrong area level.")
                    % {"role": Role(role).label, "codes": ", ".join(wrong)}
                ]
            }
        )
    if role != Role.ADMIN and not areas:
        raise FieldsInvalid(fields={"areas": [_("Assign at least one area.")]})


def _check_actor_may_manage(*, actor: User, role: str, areas: list[Area]) -> None:
    if actor.is_admin:
        return
    actor_scope = scope_of(actor)
    if actor.role != Role.SUPERVISOR or role not in SUPERVISOR_MANAGED_ROLES:
        raise PermissionDenied()
    if not all(actor_scope.covers(area.code) for area in areas):
        raise PermissionDenied(_("You can only assign areas inside your own."))


def user_in_scope(*, user: User, scope: Scope) -> bool:
    """A user belongs to a scope when every one of its areas lies inside it."""
    if scope.everything:
        return True
    codes = list(user.assignments.values_list("area_id", flat=True))
    return bool(codes) and all(scope.covers(code) for code in codes)


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise FieldsInvalid(fields={"password": list(exc.messages)}) from exc


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    password: str,
    full_name: str,
    role: str,
    areas: list[Area],
    is_active: bool = True,
    email: str = "",
) -> User:
    """Creates an official with its assignments. Admins create anyone; supervisors create field
    officers, operators and viewers inside their own areas (PermissionDenied otherwise)."""
    _check_actor_may_manage(actor=actor, role=role, areas=areas)
    _check_assignments(role=role, areas=areas)
    if User.objects.filter(username__iexact=username).exists():
        raise FieldsInvalid(fields={"username": [_("This username is taken.")]})
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        is_active=is_active,
        email=email,
        is_staff=role in (Role.ADMIN, Role.SUPERVISOR),
    )
    _validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    Assignment.objects.bulk_create([Assignment(user=user, area=area) for area in areas])
    return user


@transaction.atomic
def user_update(*, actor: User, user: User, data: dict[str, Any]) -> User:
    """Changes an official. `data` may hold full_name, role, areas, is_active, password, email.

    Deactivating a user, or changing its role or areas, revokes all its tokens: its devices must
    log in again and pull what their new scope allows.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if not actor.is_admin and not user_in_scope(user=user, scope=scope_of(actor)):
        raise NotFound()
    role = data.get("role", user.role)
    areas: list[Area] = data["areas"] if "areas" in data else list(Area.objects.filter(assignments__user=user))
    _check_actor_may_manage(actor=actor, role=role, areas=areas)
    if not actor.is_admin and user.role not in SUPERVISOR_MANAGED_ROLES:
        raise PermissionDenied()
    _check_assignments(role=role, areas=areas)
    if user.pk == actor.pk and (data.get("is_active") is False or role != user.role):
        raise PermissionDenied(_("You cannot deactivate yourself or change your own role."))

    old_codes = set(user.assignments.values_list("area_id", flat=True))
    new_codes = {area.code for area in areas}
    scope_changed = role != user.role or old_codes != new_codes
    deactivated = user.is_active and data.get("is_active") is False

    for field in ("full_name", "email", "is_active"):
        if field in data:
            setattr(user, field, data[field])
    user.role = role
    user.is_staff = role in (Role.ADMIN, Role.SUPERVISOR) or user.is_superuser
    if data.get("password"):
        _validate_password(data["password"], user)
        user.set_password(data["password"])
    user.full_clean(exclude=["password"])
    user.save()
    if old_codes != new_codes:
        user.assignments.exclude(area_id__in=new_codes).delete()
        Assignment.objects.bulk_create(
            [Assignment(user=user, area=area) for area in areas if area.code not in old_codes]
        )
        forget_scope(user)
    if scope_changed or deactivated or data.get("password"):
        DeviceToken.objects.filter(user=user).delete()
    return user


# --- Targets -----------------------------------------------------------------------------------


def area_target_set(
    *, actor: User, area: Area, year: int, target_workers: int, budget_idr: int
) -> tuple[AreaTarget, bool]:
    """Creates or replaces an area's target for a year (PUT semantics, idempotent).

    Returns the target and whether it was created.
    """
    target, created = AreaTarget.objects.update_or_create(
        area=area,
        year=year,
        defaults={"target_workers": target_workers, "budget_idr": budget_idr, "updated_by": actor},
    )
    return target, created
