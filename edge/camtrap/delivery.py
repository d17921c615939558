"""Delivery beside the service loop: several publishers driven as one (`Fanout`), and the
bounded drain before a power-gated Pi acknowledges SHUTDOWN (`linger_mqtt`).

Both drive the `Publisher` and `OutboxPort` ports only; a peer that is down (`PeerError`) is
logged and its hits wait in the outbox, never lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

from camtrap.core.ports import Clock, Counter, OutboxPort, Publisher
from camtrap.errors import PeerError

log = logging.getLogger("camtrap.service")

FLUSH_STEP_S = 0.05  # between drains while waiting for pending hits to go


class Fanout:
    """Several publishers driven as one (MQTT and LoRa); one failing peer does not stop others."""

    def __init__(self, publishers: Sequence[Publisher]) -> None:
        self.publishers = list(publishers)

    def start(self) -> None:
        self._each("start", lambda p: p.start())

    def drain(self) -> int:
        counts: list[int] = []
        self._each("drain", lambda p: counts.append(p.drain()))
        return sum(counts)

    def publish_telemetry(self, counters: Mapping[str, Counter]) -> None:
        self._each("telemetry", lambda p: p.publish_telemetry(counters))

    def stop(self) -> None:
        self._each("stop", lambda p: p.stop())

    def _each(self, what: str, call: Callable[[Publisher], object]) -> None:
        for p in self.publishers:
            try:
                call(p)
            except PeerError as e:  # the peer is down: its hits wait in the outbox
                log.error("%s: %s: %s", type(p).__name__, what, e)


def linger_mqtt(
    publisher: Publisher,
    outbox: OutboxPort,
    bound_s: float,
    clock: Clock,
    wait: Callable[[float], object] = time.sleep,
    sink: str | Sequence[str] = "mqtt",
    busy: Callable[[], bool] = lambda: False,
) -> bool:
    """Drain until nothing is pending for ``sink`` (one or several: the hit and its picture)
    and ``busy()`` is false (a notification that could go now), or ``bound_s`` passed; True
    when all went.

    Power-gated, this runs between the MCU's SHUTDOWN request and the Pi's ack, so a slow
    uplink gets its hit out before the power goes; past the bound the hit stays in the outbox
    for the next boot (never lost).
    """
    sinks = (sink,) if isinstance(sink, str) else tuple(sink)
    deadline = clock.monotonic() + bound_s
    while True:
        try:
            publisher.drain()
        except PeerError as e:  # the broker is down: the bound decides
            log.warning("linger: %s", e)
        if all(outbox.count_pending(s) == 0 for s in sinks) and not busy():
            return True
        if clock.monotonic() >= deadline:
            log.warning("linger: hits still pending for %s after %.1f s", "/".join(sinks), bound_s)
            return False
        wait(FLUSH_STEP_S)
