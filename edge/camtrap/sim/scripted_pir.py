"""A scripted PIR: plays the pulses recorded in ``burst.json`` on a gpiozero mock pin.

The real `camtrap.adapters.gpio_pir.PirTrigger` watches the same ``MockFactory`` pin, so the
simulation exercises the real trigger code, gpiozero's sampling thread included.

Bursts are played one after the other, in real time (``time_scale`` shrinks the recorded
offsets): for burst i the script waits until the replay camera has served burst i-1 and is
idle, waits ``settle_s`` (the service's cooldown and a margin), then drives the pin high for
``pulse_s`` at each recorded offset. A burst that a follow-up already consumed is skipped; a
burst whose pulses were all dropped is pulsed again, at most ``retries`` times, after which
the script ends (``done`` is set) so the simulation cannot hang.

    factory = MockFactory()
    pir = ScriptedPir(factory.pin(17), bursts, camera, settle_s=1.0)
    pir.start(); ...; pir.stop()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from camtrap.sim.bursts import RecordedBurst
from camtrap.sim.replay_camera import ReplayCamera


class ScriptedPir:
    """Drives a mock pin with the recorded PIR timing, in a background thread."""

    def __init__(
        self,
        pin: Any,
        bursts: Sequence[RecordedBurst],
        camera: ReplayCamera,
        *,
        settle_s: float,
        time_scale: float = 1.0,
        pulse_s: float = 0.3,
        poll_s: float = 0.02,
        give_up_s: float = 10.0,
        retries: int = 2,
    ) -> None:
        self._pin, self._bursts, self._camera = pin, list(bursts), camera
        self._settle, self._scale, self._pulse = settle_s, time_scale, pulse_s
        self._poll, self._give_up, self._retries = poll_s, give_up_s, retries
        self._stop = threading.Event()
        self.done = threading.Event()
        self.pulses = 0
        self._thread = threading.Thread(target=self._run, name="scripted-pir", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            for i, burst in enumerate(self._bursts):
                if not self._play_until_served(i, burst):
                    return
        finally:
            self.done.set()

    def _play_until_served(self, i: int, burst: RecordedBurst) -> bool:
        for _ in range(self._retries + 1):
            if not self._wait_idle_after(i) or self._stop.wait(self._settle):
                return False
            if self._camera.served > i:  # a follow-up burst took it
                return True
            self._play(burst.meta.pir_pulses or (0.0,))
            if self._wait_served(i):
                return True
        return False  # never served: stop the script, the service ends the simulation

    def _wait_idle_after(self, i: int) -> bool:
        while self._camera.served < i or self._camera.busy:
            if self._stop.wait(self._poll):
                return False
        return True

    def _wait_served(self, i: int) -> bool:
        deadline = time.monotonic() + self._give_up
        while self._camera.served <= i:
            if self._stop.wait(self._poll) or time.monotonic() > deadline:
                return False
        return True

    def _play(self, offsets: Sequence[float]) -> None:
        start = time.monotonic()
        next_free = start
        for offset in offsets:
            at = max(start + offset * self._scale, next_free)
            if self._stop.wait(max(0.0, at - time.monotonic())):
                return
            self._pin.drive_high()
            self.pulses += 1
            self._stop.wait(self._pulse)
            self._pin.drive_low()
            next_free = time.monotonic() + self._pulse
