"""The challenge's notion of "now": injectable, so phases, daily limits and leases are tested with a fake clock."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]  # seconds since the epoch


def system_clock() -> float:
    return time.time()


class FakeClock:
    """A clock that only moves when told (tests: open a phase, pass midnight, expire a lease)."""

    def __init__(self, start: float) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += float(seconds)
