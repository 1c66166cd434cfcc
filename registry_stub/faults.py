"""Deciding, per request, which fault (if any) the stub injects.

Every batch decision draws exactly four numbers from one seeded RNG under a lock, whatever the
outcome, so the same seed and the same sequence of requests give the same faults in every run
(a changes-feed decision draws two, and only while a feed fault is set).
"""

from __future__ import annotations

import dataclasses
import random
import threading

from registry_stub.settings import FAILURE_FAULTS, StubSettings

ERROR_STATUSES = (500, 502, 503)


@dataclasses.dataclass(frozen=True)
class FaultPlan:
    # One of FAILURE_FAULTS, or None for a normal answer.
    failure: str | None = None
    # Which 5xx status when failure == "error_5xx".
    error_status: int = 500
    slow: bool = False
    async_202: bool = False


NO_FAULT = FaultPlan()


@dataclasses.dataclass(frozen=True)
class ChangesPlan:
    error_5xx: bool = False
    repeat: bool = False


class FaultDecider:
    """Thread-safe source of FaultPlans; `reseed` restarts the sequence."""

    def __init__(self, seed: int | None) -> None:
        self._lock = threading.Lock()
        # Fault injection, not cryptography: a seeded PRNG is the point.
        self._rng = random.Random(seed)  # noqa: S311

    def reseed(self, seed: int | None) -> None:
        with self._lock:
            self._rng.seed(seed)

    def decide(self, settings: StubSettings) -> FaultPlan:
        with self._lock:
            failure_draw, status_draw, slow_draw, async_draw = (self._rng.random() for _ in range(4))
        failure = None
        threshold = 0.0
        for name in FAILURE_FAULTS:
            threshold += getattr(settings, name)
            if failure_draw < threshold:
                failure = name
                break
        return FaultPlan(
            failure=failure,
            error_status=ERROR_STATUSES[int(status_draw * len(ERROR_STATUSES))],
            slow=slow_draw < settings.slow,
            async_202=async_draw < settings.async_202,
        )

    def decide_changes(self, settings: StubSettings) -> ChangesPlan:
        """A page request of the changes feed draws two numbers (only when a feed fault is set,
        so the batch faults of a seeded run stay the same whether or not the feed is read)."""
        if not (settings.changes_error_5xx or settings.changes_repeat):
            return ChangesPlan()
        with self._lock:
            error_draw, repeat_draw = self._rng.random(), self._rng.random()
        return ChangesPlan(
            error_5xx=error_draw < settings.changes_error_5xx, repeat=repeat_draw < settings.changes_repeat
        )
