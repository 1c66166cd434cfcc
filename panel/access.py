"""Who may open which panel page, and how a refusal looks.

The same roles as the API (villages.permissions and the API views' role lists) and the same scope
helper (villages.scope, through the selectors): a record outside the caller's areas is a 404
page, a page the role may not open is a 403 page, an anonymous visitor goes to the login form.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from config.errors import NotFound
from config.errors import PermissionDenied as ServicePermissionDenied
from villages.audit import Actor
from villages.auth import client_address
from villages.models import Role, User

ALL_ROLES = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.SUPERVISOR, Role.VIEWER)
# People's records: field staff and supervisors read (viewers see reports only).
RECORD_READERS = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.SUPERVISOR)
RECORD_WRITERS = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR)
QUEUE_READERS = (Role.VILLAGE_OPERATOR, Role.SUPERVISOR)
DECIDERS = (Role.VILLAGE_OPERATOR,)
IMPORTERS = (Role.VILLAGE_OPERATOR,)
EXPORTERS = (Role.VILLAGE_OPERATOR, Role.SUPERVISOR)


def may(user: User, roles: tuple[Role, ...]) -> bool:
    return bool(user.is_admin or user.role in roles)


def actor_of(request: HttpRequest) -> Actor:
    """The signed-in official as the audit log names them (a browser session has no device)."""
    user = request.user
    assert isinstance(user, User)
    return Actor(user=user, ip=client_address(request) or None)


def official_of(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "panel/error.html", {"title": _("Not found"), "status": 404}, status=404)


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "panel/error.html", {"title": _("Not for your role"), "status": 403}, status=403)


def page(*roles: Role) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """A panel view for these roles (admins always): login required, Http404 as the 404 page."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not (isinstance(user, User) and user.is_active):
                return redirect(f"{settings.PANEL_LOGIN_URL}?next={request.path}")
            if not may(user, roles):
                return forbidden(request)
            try:
                return view(request, *args, **kwargs)
            except (Http404, NotFound):  # a service's 404 (outside the caller's areas) is the 404 page too
                return not_found(request)
            except ServicePermissionDenied:
                return forbidden(request)

        return wrapped

    return decorate
