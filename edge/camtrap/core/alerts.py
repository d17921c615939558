"""What a ranger's phone is told about hits, and when: pure policy for the notification sink.

No I/O and no clock: the notifier passes ``now`` (and the time zone quiet hours are given in).

* **Rate limit per trap**: at most one notification per ``min_interval_s``. Hits that arrive in
  between are not dropped: they wait in the outbox and go out together in the next notification
  (one message listing them all, with the best picture), so every event id is told exactly once
  and a leopard that walks past the trap ten times does not ring the phone ten times.
* **Quiet hours** (local time, e.g. 22:00-06:00): nothing is sent; hits wait and go out together
  when the quiet hours end.

    >>> from datetime import UTC
    >>> p = NotifyPolicy(min_interval_s=300, quiet=parse_quiet_hours("22:00-06:00"))
    >>> decide(p, now=1795500000.0, last_sent=None, tz=UTC)  # 06:00 UTC: quiet hours just ended
    Decision(send=True, wait_until=None, reason='')
    >>> decide(p, now=1795500100.0, last_sent=1795500000.0, tz=UTC)
    Decision(send=False, wait_until=1795500300.0, reason='rate_limit')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from camtrap.core.deployment import Deployment
from camtrap.core.types import Hit

Reason = Literal["", "rate_limit", "quiet_hours"]
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MAX_LISTED = 10  # hits named one by one in a notification; the rest are counted


@dataclass(frozen=True)
class QuietHours:
    """Minutes after local midnight: quiet from ``start`` (inclusive) to ``end`` (exclusive),
    across midnight when ``end < start``."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < 1440 and 0 <= self.end < 1440) or self.start == self.end:
            raise ValueError(f"quiet hours {self.start}-{self.end}: want two different times")

    def contains(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


def parse_quiet_hours(text: str) -> QuietHours | None:
    """``"HH:MM-HH:MM"`` (local time), or ``""`` for none; `ValueError` says what is wrong."""
    if not text.strip():
        return None
    parts = [p.strip() for p in text.split("-")]
    if len(parts) != 2:
        raise ValueError(f"{text!r}: want HH:MM-HH:MM, e.g. 22:00-06:00")
    start, end = (_minutes(p, text) for p in parts)
    return QuietHours(start, end)


def _minutes(hhmm: str, whole: str) -> int:
    m = _HHMM.match(hhmm)
    if m is None:
        raise ValueError(f"{whole!r}: {hhmm!r} is not a time HH:MM (00:00..23:59)")
    return int(m[1]) * 60 + int(m[2])


@dataclass(frozen=True)
class NotifyPolicy:
    min_interval_s: float = 300.0
    quiet: QuietHours | None = None

    def __post_init__(self) -> None:
        if not self.min_interval_s >= 0:
            raise ValueError(f"min_interval_s must be >= 0, got {self.min_interval_s}")


@dataclass(frozen=True)
class Decision:
    send: bool
    wait_until: float | None  # unix seconds; None when sending now
    reason: Reason = ""


def decide(policy: NotifyPolicy, now: float, last_sent: float | None, tz: tzinfo) -> Decision:
    """Send now, or wait until when and why (quiet hours first: they last longer)."""
    local = datetime.fromtimestamp(now, tz)
    if policy.quiet is not None and policy.quiet.contains(local.hour * 60 + local.minute):
        return Decision(False, _quiet_end(local, policy.quiet), "quiet_hours")
    if last_sent is not None and now - last_sent < policy.min_interval_s:
        return Decision(False, last_sent + policy.min_interval_s, "rate_limit")
    return Decision(True, None)


def _quiet_end(local: datetime, quiet: QuietHours) -> float:
    """The next local time the quiet hours end, as unix seconds."""
    end = local.replace(hour=quiet.end // 60, minute=quiet.end % 60, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.timestamp()


# --------------------------------------------------------------------------------------------
# The message


@dataclass(frozen=True)
class Location:
    """Where the trap stands, as the ranger needs it: a name and coordinates (WGS 84)."""

    name: str = ""
    latitude: float | None = None
    longitude: float | None = None

    def __post_init__(self) -> None:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            raise ValueError(f"latitude {self.latitude} is not within -90..90")
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            raise ValueError(f"longitude {self.longitude} is not within -180..180")

    def describe(self) -> str:
        """``"Ridge trail, 43.10000, 131.60000 https://www.openstreetmap.org/..."``, or ``""``."""
        parts = [self.name] if self.name else []
        if self.latitude is not None and self.longitude is not None:
            lat, lon = f"{self.latitude:.5f}", f"{self.longitude:.5f}"
            osm = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=15/{lat}/{lon}"
            parts.append(f"{lat}, {lon} {osm}")
        return ", ".join(parts)


def trap_location(name: str, deployment: Deployment) -> Location:
    """Where the notification says the trap is: ``[notify] location`` (or the deployment's
    location name) and the deployment's coordinates, so a ranger gets a map link."""
    return Location(name or deployment.location_name, deployment.latitude, deployment.longitude)


@dataclass(frozen=True)
class Notice:
    """One notification: its text, the picture to attach and the hits it tells of."""

    title: str
    body: str
    event_ids: tuple[str, ...]
    picture_of: str | None  # the event id whose picture is attached


def compose(
    hits: Sequence[Hit],
    with_picture: Sequence[str],
    device_id: str,
    location: Location,
    now: float,
) -> Notice:
    """A notification for ``hits`` (oldest first, as the outbox gives them): the best hit in
    the title, each hit on a line, where the trap is; the picture of the best hit that has one."""
    if not hits:
        raise ValueError("a notification needs at least one hit")
    best = max(hits, key=lambda h: (h.score, h.time))
    labels = sorted({h.label for h in hits})
    if len(hits) == 1:
        title = f"{best.label.capitalize()} at {device_id} ({best.score:.0%})"
    else:
        title = f"{len(hits)} hits at {device_id}: {', '.join(labels)}"
    lines = [_line(h, now) for h in sorted(hits, key=lambda h: h.time, reverse=True)[:MAX_LISTED]]
    if len(hits) > MAX_LISTED:
        lines.append(f"... and {len(hits) - MAX_LISTED} more")
    where = location.describe()
    if where:
        lines.append(f"Location: {where}")
    shown = {*with_picture}
    picture = best.event_id if best.event_id in shown else _newest_with(hits, shown)
    return Notice(title, "\n".join(lines), tuple(h.event_id for h in hits), picture)


def _line(h: Hit, now: float) -> str:
    when = datetime.fromtimestamp(int(h.time), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    late = max(0, round(now - h.time))
    ago = f", sent {_duration(late)} after it" if late >= 120 else ""
    return (
        f"{h.label} {h.score:.2f} ({h.frames_agreeing}/{h.frames_classified} frames) "
        f"at {when}{ago} [{h.event_id}]"
    )


def _newest_with(hits: Sequence[Hit], shown: set[str]) -> str | None:
    candidates = [h for h in hits if h.event_id in shown]
    return max(candidates, key=lambda h: h.time).event_id if candidates else None


def _duration(seconds: int) -> str:
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
