"""The narrow ports between the pipeline and the world.

The app wires real adapters (gpiozero PIR, picamera2, LiteRT, paho-mqtt, the MCU link) or
simulated ones (MockFactory PIR, replay camera, manual clock) into the same pipeline objects.
A fake is never a silent fallback for missing hardware: the app chooses explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from camtrap.core.types import BurstMeta, Frame


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
