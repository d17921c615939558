"""Network time over a real pseudo-terminal: the MCU's radio (trapfw.radio + trapfw.lw_time,
CPython here) asks with the uplink it sends anyway and reads the modem's clock, against the
simulated modem of tests/lora/fake_modem.py answering as the LoRa-E5 and RUI3 manuals say."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.lora.fake_modem import FakeModem, ModemUart
from trapfw import lw_time, payload, radio, settings

HIT = payload.encode_hit(42, 1, 0.93, 3, 4, 3710, 12)
KINDS = ("lora-e5", "rak3172")
NET = 1795500000.0  # the network server's clock at the start (2026-11-24T06:00:00Z)


@contextmanager
def mcu_radio(kind: str, **fake: object) -> Iterator[tuple[radio.LoraRadio, FakeModem]]:
    t0 = time.monotonic()
    utc = fake.pop("utc", lambda: NET + time.monotonic() - t0)
    with FakeModem(kind, utc=utc, **fake) as modem:  # type: ignore[arg-type]
        uart = ModemUart(modem.path)
        cfg = settings.validate({"device_id": "trap-07", "modem": kind})
        r = radio.LoraRadio(uart, cfg, 0, configure=False)
        try:
            yield r, modem
        finally:
            uart.port.close()


def _take(r: radio.LoraRadio) -> tuple[int, int] | None:
    """What the app takes from the radio (trapfw.app._pump_radio): the time, once."""
    got, r.net_time = r.net_time, None
    return got


def pump(r: radio.LoraRadio, seconds: float) -> list[bytes]:
    """The board's main loop for the radio, in real time, bounded."""
    done: list[bytes] = []
    t0 = time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        now_ms = int((time.monotonic() - t0) * 1000)
        done += r.poll(now_ms, 3900)
        if not r.busy() and r.driver.asleep and r.time_step == 0 and done:
            break
        time.sleep(0.005)
    return done


@pytest.mark.parametrize("kind", KINDS)
def test_the_answer_of_the_network_sets_the_time_to_utc(kind: str) -> None:
    t0 = time.monotonic()
    with mcu_radio(kind, utc=lambda: NET + time.monotonic() - t0) as (r, modem):
        r.time_want = True
        r.offer_hit(0, HIT, 0)
        assert pump(r, 20.0) == [HIT]
        got = _take(r)
        assert got is not None, modem.commands
        now = NET + time.monotonic() - t0
        assert now - 3 <= got[0] <= now and got[1] == lw_time.DOUBT_S  # UTC, not GPS (+18 s)
        assert modem.time_answered == 1 and len(modem.sent) == 1
        reads = [c for c in modem.commands if c in ("AT+RTC", "AT+LTIME=?")]
        assert len(reads) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_silent_network_or_old_firmware_leaves_the_time_unset_and_the_hit_goes(
    kind: str,
) -> None:
    with mcu_radio(kind, utc=None) as (r, modem):  # the network never answers
        r.time_want = True
        r.offer_hit(0, HIT, 0)
        assert pump(r, 20.0) == [HIT]
        assert _take(r) is None and modem.time_answered == 0
    with mcu_radio(kind, old_firmware=True) as (r, modem):
        r.time_want = True
        r.offer_hit(0, HIT, 0)
        assert pump(r, 20.0) == [HIT]
        assert _take(r) is None and len(modem.sent) == 1
        ask = "AT+LW=DTR" if kind == "lora-e5" else "AT+TIMEREQ=1"
        assert ask in modem.commands  # asked, refused as unknown: only the request failed
        assert not any(c in ("AT+RTC", "AT+LTIME=?") for c in modem.commands)
