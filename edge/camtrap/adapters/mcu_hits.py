"""LoRa through the MCU (``[lora] via = "mcu"``): the outbox's hits as HIT frames on the link.

`McuHitPublisher` is a `Publisher`: it sends each pending hit's exact LoRa uplink bytes
(`camtrap.core.hit_uplink.hit_uplink`) in a HIT frame and marks the hit sent only when the MCU
acknowledged that frame, so a hit is in the Pi's outbox or in the MCU's persistent queue, never
in neither. The MCU schedules and sends the uplinks (duty cycle, airtime budget).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from camtrap.adapters.mcu_link import McuLink
from camtrap.adapters.timesync import reading
from camtrap.core.hit_uplink import hit_uplink
from camtrap.core.ports import Clock
from trapfw import link


class McuHitPublisher:
    """Outbox hits -> HIT frames to the MCU; ``mark_sent`` only once the MCU acknowledged."""

    def __init__(
        self,
        outbox: Any,
        mcu: McuLink,
        clock: Clock,
        *,
        sink: str = "lora",
        battery: Callable[[], int | None] | None = None,
    ) -> None:
        self.outbox, self.mcu, self.clock, self.sink = outbox, mcu, clock, sink
        self.battery = battery  # the MCU's latest reading, for the uplink's battery byte
        self._in_flight: dict[bytes, str] = {}  # HIT body -> event id
        self._acked: list[str] = []
        self._lock = threading.Lock()
        mcu.on_ack(self._on_ack)

    def start(self) -> None:
        return None

    def drain(self) -> int:
        """Mark what the MCU acknowledged; send the pending hits not yet in flight."""
        with self._lock:
            done, self._acked = self._acked, []
        for event_id in done:
            self.outbox.mark_sent(event_id, self.sink)
        flying = set(self._in_flight.values())
        for hit in self.outbox.pending(self.sink):
            if hit.event_id in flying:
                continue
            battery_mv = self.battery() if self.battery is not None else None
            now, trusted = reading(self.clock)  # an unknown clock: "age unknown", never wrong
            body = hit_uplink(hit, now, battery_mv, trusted)
            with self._lock:
                self._in_flight[body] = hit.event_id
            self.mcu.send(link.HIT, body)
        return len(done)

    def publish_telemetry(self, counters: Any) -> None:
        return None  # the MCU's heartbeat carries the trap's counters

    def stop(self) -> None:
        return None

    def _on_ack(self, msg: link.Msg) -> None:
        if msg.mtype != link.HIT:
            return
        with self._lock:
            event_id = self._in_flight.pop(msg.body, None)
            if event_id is not None:
                self._acked.append(event_id)
