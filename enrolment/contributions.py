"""Monthly contributions from the effective-dated rate tables.

A month is priced by the rules in force on its first day: each program's amount (a percentage
of the income band's base with a minimum, a percentage of income, or a flat amount), less any
discount in force for the segment, the occupation's group and the funding (PP 50/2025 discounts
JKK and JKM by 50 % for self-paying BPU, never for APBN/APBD-funded participants).

Money is integer rupiah throughout; percentages are basis points; rounding is half up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from config.errors import register_error_code
from enrolment.models import ContributionDiscount, ContributionRule, IncomeBand, Program, RateBasis

RULE_MISSING = register_error_code(
    "contribution_rule_missing", 400, _("No contribution rule is in force for this program and month.")
)
PROGRAM_ORDER = [Program.JKK, Program.JKM, Program.JHT]


class RateMissing(Exception):
    def __init__(self, program: str, month: dt.date) -> None:
        super().__init__(f"no {program} rule in force on {month:%Y-%m}")
        self.program = program
        self.month = month


@dataclass(frozen=True)
class MonthContribution:
    month: dt.date
    base_idr: int | None
    gross: dict[str, int]
    discount: dict[str, int]
    discount_names: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(self.gross.values()) - sum(self.discount.values())

    def as_detail(self) -> dict[str, Any]:
        return {
            "month": self.month.strftime("%Y-%m"),
            "base_idr": self.base_idr,
            "programs": {p: self.gross[p] - self.discount.get(p, 0) for p in self.gross},
            "gross": dict(self.gross),
            "discount": dict(self.discount),
            "discount_names": list(self.discount_names),
            "total": self.total,
        }


@dataclass(frozen=True)
class Pricing:
    """What a contribution depends on, besides the month."""

    segment: str
    programs: tuple[str, ...]
    monthly_income: int
    occupation_group: str
    self_paid: bool


def _in_force(valid_from: dt.date, valid_to: dt.date | None, day: dt.date) -> bool:
    return valid_from <= day and (valid_to is None or day <= valid_to)


def _percent_of(amount: int, basis_points: int) -> int:
    return (amount * basis_points + 5_000) // 10_000


def _first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass
class RateTable:
    """Every rule, band and discount, read once; pricing is then pure Python."""

    rules: list[ContributionRule] = field(default_factory=list)
    bands: list[IncomeBand] = field(default_factory=list)
    discounts: list[ContributionDiscount] = field(default_factory=list)
    # year() results for this table's lifetime (one request or import chunk): a bulk of people
    # on the same package and start date is priced once, not twelve months per person.
    _years: dict[tuple[Pricing, dt.date], tuple[MonthContribution, int]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls) -> RateTable:
        return cls(
            rules=list(ContributionRule.objects.all()),
            bands=list(IncomeBand.objects.order_by("-income_from")),
            discounts=list(ContributionDiscount.objects.all()),
        )

    def base_for(self, segment: str, income: int, day: dt.date) -> int | None:
        for band in self.bands:  # highest income_from first
            if (
                band.segment == segment
                and band.income_from <= income
                and _in_force(band.valid_from, band.valid_to, day)
            ):
                return band.base_idr
        return None

    def month(self, pricing: Pricing, month: dt.date) -> MonthContribution:
        """Raises RateMissing when a program has no rule (or band) in force that month."""
        day = _first_of_month(month)
        base = self.base_for(pricing.segment, pricing.monthly_income, day)
        gross: dict[str, int] = {}
        for program in pricing.programs:
            rule = next(
                (
                    r
                    for r in self.rules
                    if r.segment == pricing.segment
                    and r.program == program
                    and _in_force(r.valid_from, r.valid_to, day)
                ),
                None,
            )
            if rule is None:
                raise RateMissing(program, day)
            if rule.basis == RateBasis.FLAT:
                amount = rule.flat_idr
            elif rule.basis == RateBasis.INCOME:
                amount = _percent_of(pricing.monthly_income, rule.rate_bp)
            else:
                if base is None:
                    raise RateMissing(program, day)
                amount = _percent_of(base, rule.rate_bp)
            gross[program] = max(amount, rule.minimum_idr)

        discount: dict[str, int] = {}
        names: list[str] = []
        for offer in self.discounts:
            if not (
                offer.segment == pricing.segment
                and _in_force(offer.valid_from, offer.valid_to, day)
                and (pricing.self_paid or not offer.self_paid_only)
                and (not offer.occupation_groups or pricing.occupation_group in offer.occupation_groups)
            ):
                continue
            names.append(offer.name)
            for program in offer.programs:
                if program in gross:
                    remaining = gross[program] - discount.get(program, 0)
                    discount[program] = discount.get(program, 0) + min(
                        remaining, (gross[program] * offer.percent + 50) // 100
                    )
        return MonthContribution(month=day, base_idr=base, gross=gross, discount=discount, discount_names=tuple(names))

    def year(self, pricing: Pricing, start: dt.date) -> tuple[MonthContribution, int]:
        """The first month's contribution and the total of twelve months from `start`."""
        key = (pricing, start)
        if key not in self._years:
            first = self.month(pricing, start)
            annual = first.total + sum(self.month(pricing, _add_months(start, n)).total for n in range(1, 12))
            self._years[key] = (first, annual)
        return self._years[key]
