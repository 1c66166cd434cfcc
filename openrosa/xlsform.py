"""The registration form, per officer: the XLSForm kept in forms/registration.md with the
officer's villages and the current occupations and funding sources as choice lists, converted
to an XForm by pyxform.

A conversion costs a few hundred milliseconds and every formList and form.xml request needs the
form's hash, so each form is kept in the cache under a digest of everything it is made of (the
template, the lists, the settings that shape it): a new village or occupation is a new digest,
hence a new `version` and hash, and ODK Collect offers the update.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from functools import cache as memoize
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from pyxform.xls2json_backends import md_to_dict
from pyxform.xls2xform import convert

from villages.models import Area, AreaLevel, Role, User
from villages.scope import scope_of
from workers.models import FundingSource, Occupation

TEMPLATE = Path(__file__).parent / "forms" / "registration.md"
FORM_ID = "registrasi_pekerja"
FORM_ROOT = "registrasi"
VILLAGES_CSV = "villages.csv"
ID, EN = "label::Indonesian (id)", "label::English (en)"
# The roles that register people in the field (the API's writers of worker records).
FORM_ROLES = (Role.FIELD_OFFICER, Role.VILLAGE_OPERATOR)


@dataclass(frozen=True)
class OfficerForm:
    form_id: str
    version: str
    title: str
    xml: bytes
    media: dict[str, bytes] = field(default_factory=dict)

    @property
    def md5(self) -> str:
        return "md5:" + hashlib.md5(self.xml, usedforsecurity=False).hexdigest()

    def media_md5(self, name: str) -> str:
        return "md5:" + hashlib.md5(self.media[name], usedforsecurity=False).hexdigest()


@memoize
def _template() -> tuple[str, dict[str, Any]]:
    text = TEMPLATE.read_text(encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest(), md_to_dict(text)


def form_villages(user: User) -> list[tuple[str, str, str]]:
    """(code, village name, district name) of the active villages in the officer's areas."""
    if user.role not in FORM_ROLES or not user.is_active:
        return []
    villages = scope_of(user).filter(Area.objects.filter(level=AreaLevel.VILLAGE, active=True), "code")
    return list(villages.order_by("code").values_list("code", "name", "parent__name"))


def officer_form(user: User) -> OfficerForm | None:
    """The officer's form, or None for a role that does not register people (or has no village)."""
    villages = form_villages(user)
    if not villages:
        return None
    template_hash, _workbook = _template()
    occupations = list(Occupation.objects.filter(active=True).values_list("code", "name", "name_en"))
    funding = list(FundingSource.objects.filter(active=True).values_list("code", "name", "name_en"))
    inline = len(villages) <= settings.OPENROSA_INLINE_CHOICES_MAX
    digest = hashlib.sha256(
        json.dumps([template_hash, villages, occupations, funding, inline], ensure_ascii=False).encode()
    ).hexdigest()
    key = f"odk-form:{digest}"
    form = cache.get(key)
    if not isinstance(form, OfficerForm):
        form = _build(digest[:12], villages, occupations, funding, inline=inline)
        cache.set(key, form, timeout=settings.OPENROSA_FORM_CACHE_SECONDS)
    return form


def _build(
    version: str,
    villages: list[tuple[str, str, str]],
    occupations: list[tuple[str, str, str]],
    funding: list[tuple[str, str, str]],
    *,
    inline: bool,
) -> OfficerForm:
    workbook = copy.deepcopy(_template()[1])
    settings_row = workbook["settings"][0]
    settings_row["version"] = version
    workbook["settings_header"] = [dict.fromkeys(settings_row)]
    choices = workbook["choices"]
    for code, name, name_en in occupations:
        choices.append({"list_name": "occupation", "name": code, ID: name, EN: name_en})
    for code, name, name_en in funding:
        choices.append({"list_name": "funding", "name": code, ID: name, EN: name_en})
    media: dict[str, bytes] = {}
    village_labels = [(code, f"{name} (Kec. {district})") for code, name, district in villages]
    if inline:
        for code, label in village_labels:
            choices.append({"list_name": "village", "name": code, ID: label, EN: label})
    else:
        # Hundreds of villages (an officer of a whole regency): a CSV in the manifest, which
        # ODK Collect downloads beside the form and searches while the officer types.
        (row,) = [r for r in workbook["survey"] if r.get("name") == "village"]
        row["type"] = f"select_one_from_file {VILLAGES_CSV}"
        row["appearance"] = "autocomplete"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["name", "label"])
        writer.writerows(village_labels)
        media[VILLAGES_CSV] = buffer.getvalue().encode("utf-8")
    result = convert(xlsform=workbook, form_name=FORM_ROOT, warnings=[])
    return OfficerForm(
        form_id=FORM_ID,
        version=version,
        title=settings_row["form_title"],
        xml=result.xform.encode("utf-8"),
        media=media,
    )
