"""The gpiozero PIR trigger source on a MockFactory pin (the real adapter code, sampled by
gpiozero's own thread)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from camtrap.adapters.gpio_pir import PirTrigger
from camtrap.errors import PeerError, UsageError
from camtrap.sim.clock import ManualClock


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.close()


def make(factory: MockFactory, clock: ManualClock, **kw: object) -> PirTrigger:
    return PirTrigger(
        17,
        "trap-07",
        clock,
        frame_interval_s=0.5,
        pin_factory=factory,
        sample_rate=100,
        allow_mock=True,
        **kw,
    )


def test_motion_on_the_pin_becomes_a_trigger_with_its_time(factory: MockFactory):
    clock = ManualClock(now=1_800_000_000.0)
    pir = make(factory, clock)
    try:
        assert pir.wait(0) is None
        factory.pin(17).drive_high()
        meta = pir.wait(5.0)
        assert meta is not None
        assert (meta.source, meta.device_id, meta.trigger_time) == ("pir", "trap-07", 1.8e9)
        assert meta.frame_interval_s == 0.5
        assert meta.pir_pulses == (0.0,)  # recorded, so the stored burst.json replays as it was
        assert pir.wait(0) is None  # one edge, one trigger
    finally:
        pir.close()


def test_a_mock_pin_factory_is_refused_outside_the_simulation(factory: MockFactory):
    with pytest.raises(UsageError, match="mock pin factory outside the simulation"):
        PirTrigger(17, "t", ManualClock(), frame_interval_s=0.5, pin_factory=factory)


def test_queued_triggers_are_bounded_and_overflow_is_counted(factory: MockFactory):
    pir = make(factory, ManualClock(), max_queued=3)
    try:
        for _ in range(5):
            pir._on_motion()  # the callback gpiozero calls on each motion edge
        got = [pir.wait(0) for _ in range(4)]
        assert sum(m is not None for m in got) == 3 and pir.overflowed == 2
    finally:
        pir.close()


@pytest.mark.skipif(Path("/proc/device-tree/model").exists(), reason="a real Pi has GPIO")
def test_no_gpio_on_a_desktop_is_one_peer_error_without_fallback_warnings(monkeypatch):
    from gpiozero import Device

    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)  # gpiozero looks for a real factory
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a PinFactoryFallback warning would fail the test
        with pytest.raises(PeerError, match=r"PIR on GPIO17: .* on a desktop use --sim"):
            PirTrigger(17, "trap-07", ManualClock(0.0), frame_interval_s=0.5, pin_factory=None)
