"""Dry-run publisher: prints what the MQTT publisher would send, and marks hits sent.

Used when ``[mqtt] enabled = false`` (the desktop demo): the same methods as `MqttPublisher`,
so the service loop does not care which one it drives. Each line reads::

    would publish camtrap/trap-07/hit {"v":1,"type":"hit","event_id":"trap-07-42",...}
    would publish camtrap/trap-07/hit/image <JPEG, 18211 bytes, event_id trap-07-42>

Given a ``pictures`` directory (the simulation's ``<data_dir>/pictures``), it also writes each
picture it would publish there as ``<event_id>.jpg``, so the demo shows what a ranger gets.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from camtrap.adapters.clock import SystemClock
from camtrap.adapters.outbox import IMAGE_SINKS, Outbox
from camtrap.adapters.timesync import reading
from camtrap.core.messages import (
    Counter,
    Publication,
    Topics,
    availability_message,
    battery_from_counters,
    hit_message,
    image_message,
    telemetry_message,
    topics,
)
from camtrap.core.ports import Clock

log = logging.getLogger(__name__)


def battery_now(read: Callable[[], int | None] | None, last: int | None) -> int | None:
    """``read()`` when there is a reader and it has a value, else ``last``."""
    value = read() if read is not None else None
    return value if value is not None else last


class DryRunPublisher:
    def __init__(
        self,
        outbox: Outbox,
        out: TextIO = sys.stdout,
        *,
        topic_prefix: str = "camtrap",
        device_id: str = "camtrap-01",
        clock: Clock | None = None,
        sink: str = "mqtt",
        battery: Callable[[], int | None] | None = None,
        pictures: Path | None = None,
    ) -> None:
        self.outbox = outbox
        self.image_sink = next((s for s in outbox.sinks if s in IMAGE_SINKS), None)
        self.pictures = pictures
        self.out = out
        self.sink = sink
        self._topics: Topics = topics(topic_prefix, device_id)
        self._clock: Clock = clock or SystemClock()
        self._battery_mv: int | None = None
        self._read_battery = battery  # as MqttPublisher's: the MCU's reading, power-gated
        self._started = False

    def start(self) -> None:
        """Print ``online`` once: as `MqttPublisher.start`, a second call does nothing (the
        simulation starts the publisher to wait for it, then the service starts it again)."""
        if self._started:
            return
        self._started = True
        self._print(availability_message(self._topics, online=True))

    def drain(self) -> int:
        """Print every pending hit and mark it sent; returns how many."""
        done = 0
        while batch := self.outbox.pending(self.sink, limit=100):
            for hit in batch:
                device = topics(self._topics.prefix, hit.device_id)
                battery_mv = battery_now(self._read_battery, self._battery_mv)
                now, trusted = reading(self._clock)
                self._print(hit_message(device, hit, now, battery_mv, trusted))
                self.outbox.mark_sent(hit.event_id, self.sink)
                done += 1
        if self.image_sink is not None:
            self._drain_pictures(self.image_sink)
        return done

    def _drain_pictures(self, sink: str) -> None:
        while batch := self.outbox.pending_with_images(sink, limit=100):
            for hit, jpeg in batch:
                if jpeg is not None:
                    msg = image_message(
                        topics(self._topics.prefix, hit.device_id), hit.event_id, jpeg
                    )
                    what = f"<JPEG, {len(jpeg)} bytes, event_id {hit.event_id}>"
                    print(f"would publish {msg.topic} {what}", file=self.out, flush=True)
                    self._keep(hit.event_id, jpeg)
                self.outbox.mark_sent(hit.event_id, sink)

    def _keep(self, event_id: str, jpeg: bytes) -> None:
        if self.pictures is None:
            return
        try:
            self.pictures.mkdir(parents=True, exist_ok=True)
            (self.pictures / f"{event_id}.jpg").write_bytes(jpeg)
        except OSError as e:  # a demo nicety: never a reason to stop
            log.warning("dry run: cannot write the picture of %s: %s", event_id, e)

    def publish_telemetry(self, counters: Mapping[str, Counter]) -> None:
        self._battery_mv = battery_from_counters(counters) or self._battery_mv
        self._print(telemetry_message(self._topics, counters, self._clock.now()))

    def stop(self) -> None:
        self._started = False
        self._print(availability_message(self._topics, online=False))

    def wait_connected(self, timeout: float) -> bool:
        """As `MqttPublisher.wait_connected`: a printer is always "connected"."""
        return True

    def _print(self, p: Publication) -> None:
        print(f"would publish {p.topic} {p.payload}", file=self.out, flush=True)
