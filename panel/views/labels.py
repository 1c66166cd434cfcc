"""Words for the codes the services store (warnings), as the panel shows them."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from enrolment.funding.models import Claim, ClaimProgram
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


# The claim's documents (enrolment.funding.deaths.CHECKLIST), as a family is asked for them.
DOCUMENT_LABELS = {
    "kpj_card": _("Participant card (KPJ)"),
    "ktp_deceased": _("ID card (KTP) of the deceased"),
    "ktp_heir": _("ID card (KTP) of the heir"),
    "death_certificate": _("Death certificate"),
    "family_card": _("Family card (KK)"),
    "heir_statement": _("Heir statement letter"),
    "marriage_book": _("Marriage book (for a spouse)"),
    "bank_book": _("Bank book of the heir"),
}

# Why a death was not covered (enrolment.funding.deaths.coverage_on), in words for the family.
NOT_COVERED_LABELS = {
    "not_registered": _("not registered with BPJS Ketenagakerjaan on that day"),
    "not_yet_covered": _("the cover had not started yet on that day"),
    "coverage_ended": _("the cover had ended before that day"),
    "inactive": _("the participation was inactive (suspended by BPJS Ketenagakerjaan)"),
    "unpaid": _("contributions were unpaid for more than 3 months"),
}


def document_words(code: str) -> str:
    return str(DOCUMENT_LABELS.get(code, code))


def not_covered_words(code: str) -> str:
    return str(NOT_COVERED_LABELS.get(code, code))


def claim_answer(claim: Claim) -> str:
    """The answer the family hears, in words: covered (what the heirs can claim) or not (why)."""
    from panel.templatetags.panel import rupiah

    if not claim.covered:
        return _(
            "Not covered on the day of death: %(reason)s. There is no claim to file with BPJS Ketenagakerjaan."
        ) % {"reason": not_covered_words(claim.reason)}
    if claim.program == ClaimProgram.JKM:
        return _("Covered on the day of death: the heirs can claim JKM, %(amount)s.") % {
            "amount": rupiah(claim.amount_idr)
        }
    return str(
        _(
            "Covered on the day of death: the heirs can claim JKK (work accident); "
            "BPJS Ketenagakerjaan assesses the amount."
        )
    )
