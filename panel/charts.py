"""Charts drawn on the server as inline SVG: no chart library, no network, readable without
JavaScript. Each function returns the numbers a template draws; the template owns the markup."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    goal: int | None
    width: float  # of the value bar, in percent of the widest value or goal
    goal_at: float | None  # where the goal mark stands, in percent


def bars(rows: list[tuple[str, int, int | None]]) -> list[Bar]:
    """Horizontal bars for (label, value, goal) rows, scaled to the largest value or goal."""
    top = max([1, *(v for _, v, _ in rows), *(g or 0 for _, _, g in rows)])
    return [
        Bar(
            label=label,
            value=value,
            goal=goal,
            width=round(value * 100 / top, 2),
            goal_at=round(goal * 100 / top, 2) if goal else None,
        )
        for label, value, goal in rows
    ]
