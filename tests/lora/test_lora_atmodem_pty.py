"""The AT modem drivers over a real pseudo-terminal with pyserial, against a simulated modem.

The simulated modem (tests/lora/fake_modem.py) answers from its own thread with the documented
LoRa-E5 and RAK3172 replies, failures included; the code under test is the Pi's
``SerialModem`` (pyserial transport + the firmware's sans-IO drivers), as a Pi without an MCU
would drive a USB-UART modem.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from camtrap.adapters.lora_modem import SerialModem
from camtrap.errors import ModemError
from tests.lora.fake_modem import FakeModem
from trapfw import atmodem, atmodem_rak, payload

HIT = payload.encode_hit(42, 1, 0.93, 3, 4, 3710, 12)
KINDS = ("lora-e5", "rak3172")


@contextmanager
def modem_pair(kind: str, **state) -> Iterator[tuple[SerialModem, FakeModem]]:
    with FakeModem(kind, **state) as fake:
        modem = SerialModem.open(fake.path, kind)
        try:
            yield modem, fake
        finally:
            modem.close()


@pytest.mark.parametrize("kind", KINDS)
def test_modem_answers_the_presence_check(kind: str) -> None:
    with modem_pair(kind) as (modem, _):
        assert modem.check().ok


@pytest.mark.parametrize("kind", KINDS)
def test_hit_goes_out_on_its_fport_unconfirmed(kind: str) -> None:
    with modem_pair(kind) as (modem, fake):
        result = modem.send(payload.FPORT_HIT, HIT)
        assert result.ok and result.reason == atmodem.OK
        assert fake.sent == [(payload.FPORT_HIT, HIT)]
        assert not any("CMSGHEX" in c or c == "AT+CFM=1" for c in fake.commands)


@pytest.mark.parametrize("kind", KINDS)
def test_not_joined_send_fails_then_join_then_send_succeeds(kind: str) -> None:
    with modem_pair(kind, joined=False) as (modem, fake):
        first = modem.send(payload.FPORT_HIT, HIT)
        assert not first.ok and first.reason == atmodem.NOT_JOINED
        joined = modem.join()
        assert joined.ok and joined.joined is True and fake.joins == 1
        assert modem.send(payload.FPORT_HIT, HIT).ok
        assert fake.sent == [(payload.FPORT_HIT, HIT)]


@pytest.mark.parametrize("kind", KINDS)
def test_failed_join_is_reported_as_join_failed(kind: str) -> None:
    with modem_pair(kind, joined=False, join_fails=True) as (modem, fake):
        result = modem.join()
        assert not result.ok and result.reason == atmodem.JOIN_FAILED
        # RUI3 AT+JOIN=1:0:10:8: the modem made all 8 attempts before the result
        assert fake.joins == (8 if kind == "rak3172" else 1)


def test_a_sleeping_e5_is_woken_before_the_next_command() -> None:
    with modem_pair("lora-e5") as (modem, fake):
        drv = modem.driver
        assert modem._run(lambda now: drv.sleep(now)).ok and fake.asleep and drv.asleep
        assert modem.send(payload.FPORT_HIT, HIT).ok
        assert fake.sent == [(payload.FPORT_HIT, HIT)]
        assert fake.commands[-3:] == ["AT", "AT+PORT=10", f'AT+MSGHEX="{HIT.hex().upper()}"']


def test_e5_join_when_joined_keeps_the_session() -> None:
    with modem_pair("lora-e5", joined=True) as (modem, fake):
        result = modem.join()
        assert result.ok and result.joined is True
        assert "AT+JOIN" in fake.commands and not any("FORCE" in c for c in fake.commands)


def test_rak_reports_whether_it_holds_a_session() -> None:
    with FakeModem("rak3172", joined=True) as fake:
        modem = SerialModem.open(fake.path, "rak3172")
        try:
            drv = modem.driver
            assert isinstance(drv, atmodem_rak.Rak3172)
            result = modem._run(lambda now: drv.joined(now))
            assert result.ok and result.joined is True
        finally:
            modem.close()


@pytest.mark.parametrize(
    ("kind", "fail", "reason"),
    [
        ("lora-e5", "LoRaWAN modem is busy", atmodem.BUSY),
        ("lora-e5", "No free channel", atmodem.NO_FREE_CHANNEL),
        ("lora-e5", "No band in 146836ms", atmodem.DUTY_CYCLE),
        ("lora-e5", "Length error 12", atmodem.LENGTH_ERROR),
        ("lora-e5", "DR error", atmodem.DR_ERROR),
        ("lora-e5", "ERROR(-12)", atmodem.UNAVAILABLE),
        ("rak3172", "AT_BUSY_ERROR", atmodem.BUSY),
        ("rak3172", "AT_DUTYCYLE_RESTRICTED", atmodem.DUTY_CYCLE),  # RUI3's spelling (sic)
        ("rak3172", "AT_DUTYCYCLE_RESTRICTED", atmodem.DUTY_CYCLE),
        ("rak3172", "AT_PARAM_ERROR", atmodem.LENGTH_ERROR),
        ("rak3172", "AT_ERROR", atmodem.ERROR),
    ],
)
def test_documented_failures_fail_the_send_with_their_reason(
    kind: str, fail: str, reason: str
) -> None:
    with modem_pair(kind, fail=fail) as (modem, fake):
        result = modem.send(payload.FPORT_HIT, HIT)
        assert not result.ok and result.reason == reason and fail in result.detail
        assert fake.sent == []
        if fail.startswith("No band"):
            assert result.retry_in_s == pytest.approx(146.836)


@pytest.mark.parametrize(
    ("kind", "reply"), [("lora-e5", "Transmitted to Mars"), ("rak3172", "+EVT:WHATEVER")]
)
def test_unknown_reply_is_logged_and_fails_the_send(
    kind: str, reply: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="camtrap.lora"),
        modem_pair(kind, fail=reply) as (
            modem,
            _,
        ),
    ):
        result = modem.send(payload.FPORT_HIT, HIT)
    assert not result.ok and result.reason == atmodem.UNKNOWN_REPLY
    assert any("unknown reply" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("kind", KINDS)
def test_silent_modem_times_out(kind: str) -> None:
    with modem_pair(kind, mute=True) as (modem, _):
        result = modem.send(payload.FPORT_HIT, HIT, timeout_s=0.3)
        assert not result.ok and result.reason == atmodem.TIMEOUT


def test_missing_port_is_a_modem_error_naming_it() -> None:
    with pytest.raises(ModemError, match="/dev/does-not-exist"):
        SerialModem.open("/dev/does-not-exist", "lora-e5")


def test_unknown_modem_kind_is_a_modem_error() -> None:
    with pytest.raises(ModemError, match="unknown modem"):
        SerialModem.open("/dev/null", "sx1276")
