"""From a decided burst to a `Hit`, and the hits-of-the-day count (pure; time is an input).

>>> from datetime import date
>>> day = utc_day(1_795_000_000.0)
>>> count = add_hit(DayCount(), day)
>>> count_on(count, day), count_on(count, date(2030, 1, 1))
(1, 0)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from camtrap.core.pipeline import BurstResult
from camtrap.core.records import best_region
from camtrap.core.targets import first_name, matches
from camtrap.core.types import BurstMeta, Hit


def hit_of(
    meta: BurstMeta,
    event_id: str,
    seq: int,
    result: BurstResult,
    device_id: str,
    model: str,
    deployment_id: str = "",
    time_trusted: bool = True,
) -> Hit:
    """The hit a ``hit`` burst makes: the winning target's first name, the score to 4 places;
    ``time_trusted`` False when the trap's clock was unknown at the trigger; ``box`` and
    ``region_source``: where the animal was (the winning region of the best frame).

    A label roll-up group's hit goes out under the group's name (``leopard``, which LoRa and
    Home Assistant know), not the member that scored (``jaguar``: the store's record keeps it).
    """
    v = result.verdict
    best = best_region(v)
    return Hit(
        event_id=event_id,
        event_seq=seq,
        device_id=device_id,
        time=meta.trigger_time,
        label=hit_label(result),
        score=round(v.target_score, 4),
        frames_agreeing=v.frames_agreeing,
        frames_classified=v.frames_classified,
        model=model,
        deployment_id=deployment_id,
        time_trusted=time_trusted,
        box=tuple(best["box"]),
        region_source=best["region_source"],
    )


def hit_label(result: BurstResult) -> str:
    """The winning model label's first name, or the group's name when a group won."""
    if result.target and not matches(result.target, result.target_label):
        return result.target
    return first_name(result.target_label)


def utc_day(t: float) -> date:
    """The UTC calendar date of unix time ``t``."""
    return datetime.fromtimestamp(t, UTC).date()


@dataclass(frozen=True)
class DayCount:
    """Hits counted on one UTC date; ``day`` None before the first count."""

    day: date | None = None
    n: int = 0


def count_on(count: DayCount, day: date) -> int:
    """The hits of ``day``: the count restarts when a new date begins. A date before the
    counted one is a clock that stepped back, not a new day: the count stands."""
    if count.day is not None and day < count.day:
        return count.n
    return count.n if count.day == day else 0


def add_hit(count: DayCount, day: date) -> DayCount:
    if count.day is not None and day < count.day:  # the clock stepped back: stay on the day
        return DayCount(count.day, count.n + 1)
    return DayCount(day, count_on(count, day) + 1)


def hits_on(hit_times: Iterable[float], day: date) -> int:
    """How many of ``hit_times`` (unix seconds) fall on ``day`` (UTC)."""
    return sum(1 for t in hit_times if utc_day(t) == day)
