"""The panel's pages and who sees them in the navigation. A page added by another area (duplicates,
budget, claims) is one line here and one in urls.py."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from panel import access
from villages.models import Role, User

PAGES: list[tuple[str, Any, tuple[Role, ...]]] = [
    ("panel:home", _("Home"), (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.SUPERVISOR)),
    ("panel:queue", _("Verification"), access.QUEUE_READERS),
    ("panel:people", _("Participants"), access.RECORD_READERS),
    ("panel:follow-up", _("NIK follow-up"), access.RECORD_READERS),
    ("panel:duplicates", _("Duplicates"), access.QUEUE_READERS),
    ("panel:import", _("Import"), access.IMPORTERS),
    ("panel:export", _("Export"), access.EXPORTERS),
    ("panel:report", _("Reports"), access.ALL_ROLES),
    ("panel:devices", _("Devices"), (Role.SUPERVISOR,)),
    ("panel:registry", _("BPJSTK"), access.QUEUE_READERS),
    ("panel:targets", _("Targets"), (Role.SUPERVISOR,)),
    ("panel:budget", _("Budget"), (Role.SUPERVISOR,)),
    ("panel:claims", _("Claims"), (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR, Role.SUPERVISOR)),
]


def items_for(user: User | Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(user, User):
        return []
    items = []
    for name, label, roles in PAGES:
        if not access.may(user, roles):
            continue
        url = reverse(name)
        current = path == url if url == reverse("panel:home") else path.startswith(url)
        items.append({"url": url, "label": label, "current": current})
    return items
