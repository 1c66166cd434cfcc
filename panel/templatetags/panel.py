"""Display helpers of the panel's templates: rupiah, masked NIKs, the navigation."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from villages.display import rupiah

register = template.Library()
NONE = "\u2013"  # an en dash where a value is missing


# Integer rupiah the Indonesian way (`Rp 16.800`): one formatter for the panel and the admin.
register.filter("rupiah", rupiah)


@register.filter
def number(value: Any) -> str:
    """A count with dots between thousands (`1.000.000`)."""
    if value is None or value == "":
        return NONE
    return f"{int(value):,}".replace(",", ".")


@register.filter
def percent(value: Any) -> str:
    if value is None:
        return NONE
    return f"{float(value):.2f}".replace(".", ",") + " %"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag(takes_context=True)
def nav_items(context: template.Context) -> list[dict[str, Any]]:
    """The navigation the caller's role may use (panel.navigation lists every page)."""
    from panel.navigation import items_for

    request = context["request"]
    return items_for(request.user, request.path)


SEX = {"M": _("male"), "F": _("female")}


@register.filter
def sex_label(value: str | None) -> str:
    return str(SEX.get(value or "", NONE))
