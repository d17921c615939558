"""A LoRaWAN AT modem on a Pi serial port (USB-UART or GPIO UART), via pyserial.

The protocol lives in the sans-IO drivers of ``trapfw.atmodem`` (the same code the MCU runs);
this module only supplies the transport and the clock::

    modem = SerialModem.open("/dev/ttyUSB0", "lora-e5")
    result = modem.send(10, uplink_bytes)          # a trapfw.atmodem.Result
    if result.reason == "not_joined":
        modem.join()
    modem.close()

pyserial is imported here only, so nothing else on the Pi needs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from camtrap.errors import ModemError
from trapfw import atmodem, atmodem_e5, atmodem_rak

log = logging.getLogger("camtrap.lora")

DRIVERS: dict[str, type[atmodem.AtDriver]] = {
    "lora-e5": atmodem_e5.LoraE5,
    "rak3172": atmodem_rak.Rak3172,
}


class SerialTransport:
    """``write(bytes)``, ``any()`` and non-blocking ``read(n)`` over a pyserial port."""

    def __init__(self, port: Any) -> None:
        self.port = port

    @classmethod
    def open(cls, path: str, baud: int) -> SerialTransport:
        import serial

        try:
            port = serial.Serial(path, baud, timeout=0, write_timeout=2)
        except (serial.SerialException, OSError) as e:
            raise ModemError(f"cannot open modem port {path}: {e}") from None
        return cls(port)

    def write(self, data: bytes) -> int:
        return int(self.port.write(data) or 0)

    def any(self) -> int:
        return int(self.port.in_waiting)

    def read(self, n: int) -> bytes:
        return bytes(self.port.read(n))

    def close(self) -> None:
        self.port.close()


class SerialModem:
    """Blocking operations on one modem: each returns the driver's ``Result``."""

    def __init__(
        self,
        driver: atmodem.AtDriver,
        transport: SerialTransport,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.driver, self.transport, self.clock, self.sleep = driver, transport, clock, sleep

    @classmethod
    def open(cls, path: str, kind: str, baud: int | None = None) -> SerialModem:
        if kind not in DRIVERS:
            raise ModemError(f"unknown modem {kind!r} (known: {', '.join(DRIVERS)})")
        driver = DRIVERS[kind](log=log.info)
        return cls(driver, SerialTransport.open(path, baud or int(getattr(driver, "baud", 9600))))

    def _run(self, start: Callable[[float], None]) -> atmodem.Result:
        try:
            return run(self.driver, self.transport, start, self.clock, self.sleep)
        except OSError as e:
            raise ModemError(f"modem port failed: {e}") from None

    def check(self, timeout_s: float = 3.0) -> atmodem.Result:
        return self._run(lambda now: self.driver.check(now, timeout_s))

    @property
    def join_attempts(self) -> int:
        """Join requests one ``join()`` makes (RAK3172: 8, each booked against the back-off)."""
        return int(getattr(self.driver, "join_attempts", 1))

    def join(self, timeout_s: float | None = None) -> atmodem.Result:
        """None: the driver's own timeout (RAK3172: long enough for all its attempts)."""
        return self._run(lambda now: self.driver.join(now, timeout_s))

    def send(
        self, fport: int, data: bytes, confirmed: bool = False, timeout_s: float = 30.0
    ) -> atmodem.Result:
        return self._run(lambda now: self.driver.send(fport, data, now, confirmed, timeout_s))

    def close(self) -> None:
        self.transport.close()


def run(
    driver: atmodem.AtDriver,
    transport: Any,
    start: Callable[[float], None],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    poll_s: float = 0.01,
) -> atmodem.Result:
    """Start an operation (``start(now)``) and pump it over ``transport`` until its Result.

    ``transport``: ``write(bytes)``, ``any() -> int``, ``read(n) -> bytes or None``;
    ``clock() -> seconds``; ``sleep(seconds)``. The operation's own deadline bounds the loop.
    (On the Pi only: the MCU's radio pumps the driver from its main loop instead.)
    """
    start(clock())
    while True:
        out = driver.outgoing()
        if out:
            transport.write(out)
        n = transport.any()
        data = transport.read(n) if n else None
        if data:
            driver.feed(data, clock())
        else:
            driver.tick(clock())
        result = driver.take()
        if result is not None:
            return result
        if not data:
            sleep(poll_s)
