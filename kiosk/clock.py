"""The kiosk's sense of elapsed time, injectable so idle and countdown tests need no sleep.

Only durations on this terminal are measured with it (idle, prompt, the on-screen hold
countdown); whether a hold has expired is still decided by the database clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


def monotonic() -> float:
    return time.monotonic()


class ManualClock:
    """A clock that moves only when told (tests, snapshots)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
