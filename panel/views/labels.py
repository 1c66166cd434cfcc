"""Words for the codes the services store (warnings), as the panel shows them."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from workers.nik import WARN_BIRTH_DATE_MISMATCH, WARN_REGION_UNKNOWN, WARN_SEX_MISMATCH
from workers.validation import WARN_AGE_OUTSIDE_WINDOW, WARN_POSSIBLE_DUPLICATE

WARNING_LABELS = {
    WARN_POSSIBLE_DUPLICATE: _("Possible duplicate: same name and birth date in the village"),
    WARN_BIRTH_DATE_MISMATCH: _("The birth date in the NIK differs from the declared one"),
    WARN_SEX_MISMATCH: _("The sex in the NIK differs from the declared one"),
    WARN_REGION_UNKNOWN: _("The NIK's region is not in the current region table"),
    WARN_AGE_OUTSIDE_WINDOW: _("Age outside the allowed window"),
    "nik_mismatch": _("The NIK differs from the declared birth date or sex"),
    "needs_correction": _("Needs correction"),
}


def warning_words(codes: Iterable[str], needs_correction: bool) -> list[str]:
    found = sorted(set(codes))
    if needs_correction:
        found.append("needs_correction")
    return [str(WARNING_LABELS.get(code, code)) for code in found]
