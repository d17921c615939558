"""The system clock (the `Clock` port): wall time for records, monotonic time for intervals."""

from __future__ import annotations

import time


class SystemClock:
    """``now()`` is unix seconds (UTC); ``monotonic()`` never goes back."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()
