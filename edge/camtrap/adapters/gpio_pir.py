"""The PIR on a Pi pin (always-on design): the `TriggerSource` port over gpiozero.

gpiozero's `MotionSensor` samples the pin in its own thread and calls back on motion; each
motion edge is queued with its time and handed out by ``wait()``. The queue is bounded: a PIR
that chatters cannot grow memory (the overflow is counted in ``overflowed``).

The pin factory is injected: the app passes the real one on a Pi and the simulation passes a
gpiozero ``MockFactory`` whose pin the scripted PIR drives, so this same code runs in both.
Nothing here ever falls back to a mock: with ``allow_mock=False`` (the field service) a mock
factory, e.g. from ``GPIOZERO_PIN_FACTORY=mock``, is refused.

    pir = PirTrigger(17, "trap-07", SystemClock(), frame_interval_s=0.5, pin_factory=None)
    meta = pir.wait(timeout_s=1.0)   # BurstMeta or None
"""

from __future__ import annotations

import threading
import warnings
from collections import deque
from typing import Any

from camtrap.core.ports import Clock
from camtrap.core.types import BurstMeta
from camtrap.errors import PeerError, UsageError

SOURCE = "pir"


class PirTrigger:
    """Triggers from a PIR output on a GPIO pin."""

    def __init__(
        self,
        pin: int,
        device_id: str,
        clock: Clock,
        *,
        frame_interval_s: float,
        pin_factory: Any,
        queue_len: int = 1,
        sample_rate: float = 10.0,
        threshold: float = 0.5,
        max_queued: int = 16,
        allow_mock: bool = False,
    ) -> None:
        from gpiozero import MotionSensor
        from gpiozero.exc import GPIOZeroError, PinFactoryFallback

        self._clock, self._device_id, self._interval = clock, device_id, frame_interval_s
        self._events: deque[float] = deque(maxlen=max_queued)
        self._cond = threading.Condition()
        self.overflowed = 0
        try:
            with warnings.catch_warnings():  # one line below says it all, not one per factory
                warnings.simplefilter("ignore", PinFactoryFallback)
                self._sensor = MotionSensor(
                    pin,
                    queue_len=queue_len,
                    sample_rate=round(sample_rate),
                    threshold=threshold,
                    pin_factory=pin_factory,
                )
        except GPIOZeroError as e:
            hint = "no Pi GPIO here? on a desktop use --sim"
            raise PeerError(f"PIR on GPIO{pin}: {e} ({hint})") from None
        if not allow_mock and _is_mock(self._sensor.pin_factory):
            self._sensor.close()
            raise UsageError(f"PIR on GPIO{pin}: a mock pin factory outside the simulation")
        self._sensor.when_motion = self._on_motion
        _ = self._sensor.value  # blocks until gpiozero's sample queue is full: armed from here

    def _on_motion(self) -> None:
        with self._cond:
            if len(self._events) == self._events.maxlen:
                self.overflowed += 1
            self._events.append(self._clock.now())
            self._cond.notify_all()

    def wait(self, timeout_s: float | None) -> BurstMeta | None:
        """The next trigger, or None after ``timeout_s`` (0 = do not block)."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._events), timeout_s):
                return None
            t = self._events.popleft()
        return BurstMeta(
            SOURCE,
            self._device_id,
            trigger_time=t,
            frame_interval_s=self._interval,
            pir_pulses=(0.0,),  # the PIR went high at the trigger: stored bursts replay with it
        )

    def close(self) -> None:
        self._sensor.close()

    def counters(self) -> dict[str, int]:
        """The pin has nothing to report beyond ``overflowed``."""
        return {}


def _is_mock(factory: Any) -> bool:
    from gpiozero.pins.mock import MockFactory

    return isinstance(factory, MockFactory)


# -- probes for `camtrap doctor` ----------------------------------------------------------------


class NoGpio(PeerError):
    """No GPIO on this machine (gpiozero found no pin factory): not a Pi, or not set up."""


def read_pir_level(pin: int, pin_factory: Any = None) -> bool:
    """The PIR output's level now (True: motion). `NoGpio` without GPIO; a `PeerError` when
    the pin cannot be opened (the service holds it)."""
    from gpiozero import DigitalInputDevice
    from gpiozero.exc import BadPinFactory, GPIOZeroError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one line per pin factory gpiozero falls back from
            device = DigitalInputDevice(pin, pin_factory=pin_factory)
    except BadPinFactory as e:
        raise NoGpio(f"GPIO{pin}: {e}") from None
    except GPIOZeroError as e:
        raise PeerError(f"GPIO{pin}: {e}") from None
    try:
        return bool(device.value)
    finally:
        device.close()


def mock_pulse_triggers(
    pin: int, device_id: str, clock: Clock, *, queue_len: int, sample_rate: float, threshold: float
) -> bool:
    """This very PIR code on a gpiozero ``MockFactory`` pin: does one pulse become a trigger?"""
    import time

    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    pir = PirTrigger(
        pin, device_id, clock, frame_interval_s=0.5, pin_factory=factory, queue_len=queue_len,
        sample_rate=sample_rate, threshold=threshold, allow_mock=True,
    )  # fmt: skip
    sample_s = queue_len / sample_rate
    try:
        time.sleep(3 * sample_s + 0.05)  # gpiozero fires on a change it has seen: low first
        factory.pin(pin).drive_high()
        return pir.wait(max(2.0, 5 * sample_s)) is not None
    finally:
        pir.close()
