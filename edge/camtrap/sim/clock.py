"""A manual clock for tests: time moves only when the test says so.

>>> c = ManualClock(now=1000.0)
>>> c.advance(2.5)
>>> c.now(), c.monotonic()
(1002.5, 2.5)
"""

from __future__ import annotations


class ManualClock:
    """The `Clock` port with time as an explicit input."""

    def __init__(self, now: float = 0.0, monotonic: float = 0.0) -> None:
        self._now = now
        self._mono = monotonic

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock never goes back: advance({seconds})")
        self._now += seconds
        self._mono += seconds
