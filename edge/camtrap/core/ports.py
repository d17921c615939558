"""Every port between the trap's logic and the world, in one place.

The composition root (`camtrap.app`) wires real adapters (gpiozero PIR, picamera2, LiteRT,
paho-mqtt, the MCU link, the SQLite outbox, the burst store) or simulated ones (MockFactory PIR,
replay camera, manual clock) into the same service. A fake is never a silent fallback for
missing hardware: the root chooses explicitly.

What used to be probed with ``getattr`` is a member of the protocol here: an adapter with
nothing to report returns an empty mapping or 0, so the service never asks "can you?".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

import numpy as np

from camtrap.core.timebase import BurstTime, TimeStatus
from camtrap.core.types import BurstMeta, Frame, Hit, Verdict
from trapfw import atmodem

Counter = int | float | str | None  # one telemetry value


class Clock(Protocol):
    def now(self) -> float:
        """Unix seconds, UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...


class Camera(Protocol):
    """Captures one burst at a time.

    ``burst(n, interval_s)`` yields frames as they are captured; the consumer stops iterating
    (and calls ``close()`` on the generator) when the verdict is settled, which stops capture.
    """

    def start(self) -> None: ...

    def burst(self, n: int, interval_s: float) -> Iterator[Frame]: ...

    def stop(self) -> None: ...

    def counters(self) -> Mapping[str, Counter]:
        """Telemetry of its own (the field camera's capture counts); may be empty."""
        ...


class Classifier(Protocol):
    """Per-frame class probabilities, in label order."""

    labels: Sequence[str]
    input_size: tuple[int, int]  # (width, height) the model wants

    def classify(self, pixels: np.ndarray) -> np.ndarray:
        """``pixels``: H x W x 3 uint8 at input_size. Returns float32 probabilities."""
        ...


class TriggerSource(Protocol):
    """Where triggers come from: the Pi's PIR pin, or TRIGGER frames from the MCU."""

    def wait(self, timeout_s: float | None) -> BurstMeta | None:
        """Block until a trigger (returns its meta skeleton) or the timeout (returns None)."""
        ...

    def close(self) -> None: ...

    @property
    def overflowed(self) -> int:
        """Triggers lost before they reached the policy (a full queue); counted as dropped."""
        ...

    def counters(self) -> Mapping[str, Counter]:
        """Telemetry of its own (the MCU's battery_mv); may be empty."""
        ...


class Publisher(Protocol):
    """Delivers the outbox's pending hits to a peer (MQTT, LoRa, the dry-run printer)."""

    def start(self) -> None: ...

    def drain(self) -> int:
        """Deliver what is pending now; returns how many hits were delivered."""
        ...

    def publish_telemetry(self, counters: Mapping[str, Counter]) -> None: ...

    def stop(self) -> None: ...


class OutboxPort(Protocol):
    """The durable queue of hits, one delivery per sink."""

    def next_event_seq(self) -> int: ...

    def add(self, hit: Hit, image: bytes | None = None) -> object:
        """Queue ``hit`` (with its picture, a JPEG, when there is one) for every sink."""
        ...

    def count_pending(self, sink: str | None = None) -> int: ...

    def health(self) -> Mapping[str, Counter]:
        """Telemetry: ``outbox_fault`` (None when healthy) and what it keeps aside."""
        ...


class TimeKeeper(Protocol):
    """Where the clock's time comes from (`camtrap.adapters.timesync.TrustedClock`)."""

    def status(self) -> TimeStatus: ...

    def burst_time(self, trigger_time: float) -> BurstTime:
        """What a burst triggered at ``trigger_time`` records about its time."""
        ...


class StorePort(Protocol):
    """Where bursts are kept on the trap (frames and their verdict)."""

    def save(
        self,
        event_id: str,
        meta: BurstMeta,
        verdict: Verdict,
        frames: Sequence[Frame],
        *,
        time: BurstTime | None = None,
        target_label: str = "",
        model: str = "",
        target: str = "",
    ) -> object: ...

    def hit_times(self) -> Sequence[float]:
        """Trigger times (unix seconds) of the hit bursts it holds."""
        ...

    def health(self) -> Mapping[str, Counter]:
        """Telemetry: ``store_fault`` (None when healthy), free bytes."""
        ...


class SerialPort(Protocol):
    """What `McuLink` needs of a port: pyserial's ``Serial`` (with a read timeout) fits."""

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...

    def close(self) -> None: ...


class Modem(Protocol):
    """What the LoRa publisher needs of a modem (`SerialModem`, or a test double over a pty)."""

    def join(self) -> atmodem.Result: ...

    def send(self, fport: int, data: bytes, confirmed: bool = False) -> atmodem.Result: ...

    def close(self) -> None: ...
