"""Area scoping: the one helper every endpoint uses to keep a caller inside its areas.

An assignment to an area covers that area and every area below it, i.e. every code equal to it
or starting with it plus a dot ("17.04" covers "17.04" and "17.04.01.2001", not "17.041").
Anything outside the caller's scope is answered 404 as if it did not exist, so a caller cannot
even learn that another village's record is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from villages.models import User

M = TypeVar("M", bound=Model)


def code_within(code: str, ancestor: str) -> bool:
    """True when `code` is `ancestor` or lies below it."""
    return code == ancestor or code.startswith(ancestor + ".")


def minimal_codes(codes: list[str]) -> tuple[str, ...]:
    """Drops codes already covered by another one (a regency makes its villages redundant)."""
    kept: list[str] = []
    for code in sorted(set(codes), key=lambda c: (len(c), c)):
        if not any(code_within(code, k) for k in kept):
            kept.append(code)
    return tuple(sorted(kept))


@dataclass(frozen=True)
class Scope:
    """What a caller may see: everything (admins) or the subtrees of its assigned areas."""

    everything: bool
    codes: tuple[str, ...] = ()

    def covers(self, code: str | None) -> bool:
        if self.everything:
            return True
        if not code:
            return False
        return any(code_within(code, assigned) for assigned in self.codes)

    def q(self, field: str) -> Q:
        """A filter on `field`, a lookup path ending at an area code: "code" on Area, "village__code"
        through a foreign key (Django trims that join: the filter reads the FK column itself)."""
        if self.everything:
            return Q()
        if not self.codes:
            return Q(pk__in=[])
        condition = Q()
        for code in self.codes:
            condition |= Q(**{field: code}) | Q(**{f"{field}__startswith": code + "."})
        return condition

    def filter(self, queryset: QuerySet[M], field: str) -> QuerySet[M]:
        return queryset.filter(self.q(field))

    def within(self, code: str) -> Scope:
        """This scope narrowed to one area (e.g. a report for 17.04 by a province viewer).

        Raises Http404 when the area is outside the scope.
        """
        if self.everything:
            return Scope(everything=False, codes=(code,))
        if self.covers(code):
            return Scope(everything=False, codes=(code,))
        narrowed = tuple(c for c in self.codes if code_within(c, code))
        if not narrowed:
            raise Http404
        return Scope(everything=False, codes=narrowed)


_CACHE_ATTR = "_area_scope"


def scope_of(user: User | Any) -> Scope:
    """The caller's scope, read once per request (cached on the user object)."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        scope = Scope(everything=False)
    elif user.is_admin:
        scope = Scope(everything=True)
    else:
        scope = Scope(everything=False, codes=minimal_codes(list(user.assignments.values_list("area_id", flat=True))))
    setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_scope(user: User) -> None:
    """Call after changing a user's assignments within the same request."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def scoped(queryset: QuerySet[M], user: User | Any, field: str) -> QuerySet[M]:
    """`queryset` limited to the caller's areas, through the area code at `field`."""
    return scope_of(user).filter(queryset, field)


def get_scoped_or_404(queryset: QuerySet[M], user: User | Any, field: str, **lookup: Any) -> M:
    """One record inside the caller's areas; 404 whether it is missing or out of scope."""
    try:
        return scoped(queryset, user, field).get(**lookup)
    except ObjectDoesNotExist as exc:  # the model's DoesNotExist is a subclass
        raise Http404 from exc
