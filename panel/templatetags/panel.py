"""Display helpers of the panel's templates: rupiah, masked NIKs, a person's address and consent,
the navigation."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import date_format
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
def address_line(worker: Any) -> str:
    """A worker's address on one line, as the person page and the duplicates' comparison show
    it: `Jl. Baru, Dusun Dusun II, RT 003/RW 001` (the parts that are set)."""
    parts = [worker.address_street]
    if worker.address_dusun:
        parts.append(f"{_('Hamlet')} {worker.address_dusun}")
    if worker.address_rt or worker.address_rw:
        parts.append(f"RT {worker.address_rt or '-'}/RW {worker.address_rw or '-'}")
    return ", ".join(p for p in parts if p)


@register.filter
def consent_line(worker: Any) -> str:
    """When and how consent was given, and who recorded it; empty when it was not."""
    if not worker.consent_given_at:
        return ""
    when = date_format(worker.consent_given_at, "j F Y")
    return f"{when} ({worker.get_consent_method_display()}, {worker.consent_recorded_by})"


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
