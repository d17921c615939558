"""The Pi's end of the serial link to the companion MCU (power-gated design), over pyserial.

The codec is the firmware's own (`trapfw.link`: COBS + CRC-16, ACK/NACK, retransmit), so both
ends run one implementation. `McuLink`: a reader thread feeds bytes from the port into the
codec, runs retransmits and hands delivered messages to handlers; `send` is thread-safe.
Garbled frames and CRC-valid frames with a malformed body are dropped, NACKed and counted
(`stats`), never raised. The thread is supervised: an unexpected error in a handler or in the
codec is logged, counted (``reader_restarts``) and the loop goes on; a port that fails (read
or write) marks the link dead and `check_alive` raises `LinkError`, so the service exits
non-zero (and systemd restarts it) instead of running deaf.

What rides on the link: `camtrap.adapters.mcu_trigger` (the `TriggerSource` port from TRIGGER
frames, the SHUTDOWN handshake, the MCU's TIME), `camtrap.adapters.mcu_hits` (the outbox's
hits as HIT frames) and `HealthReport` (the service's storage state, for the MCU's LoRa
heartbeat).

    mcu = McuLink(open_serial("/dev/serial0", 115200), clock)
    mcu.on(link.TRIGGER, handler)
    mcu.start()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from camtrap.core.ports import Clock, SerialPort
from camtrap.errors import LinkError
from trapfw import link

log = logging.getLogger("camtrap.mcu")

BAD_FRAME_KEYS = ("cobs", "short", "crc", "oversize", "body")


class McuLink:
    """A thread-safe `trapfw.link.Link` over a serial port, with a reader thread."""

    def __init__(
        self, port: SerialPort, clock: Clock, *, ack_timeout_s: float = 0.5, retries: int = 3
    ) -> None:
        self.port, self.clock = port, clock
        self._link = link.Link(int(ack_timeout_s * 1000), retries, track_acks=True)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handlers: dict[int, Callable[[link.Msg], None]] = {}
        self._ack_handlers: list[Callable[[link.Msg], None]] = []
        self.failed: list[link.Msg] = []
        self.reader_restarts = 0  # unexpected errors the reader thread survived
        self.handler_errors = 0  # messages whose handler raised (counted, dropped)
        self.dead: str | None = None  # why the reader stopped for good (port failure)

    @property
    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._link.stats)

    def bad_frames(self) -> int:
        stats = self.stats
        return sum(stats.get(k, 0) for k in BAD_FRAME_KEYS)

    def check_alive(self) -> None:
        """Raise `LinkError` when the reader stopped for good (the service must not go deaf)."""
        if self.dead is not None:
            raise LinkError(f"mcu link: {self.dead}")
        thread = self._thread
        if thread is not None and not thread.is_alive() and not self._stop.is_set():
            raise LinkError("mcu link: the reader thread stopped")

    def on(self, mtype: int, handler: Callable[[link.Msg], None]) -> None:
        self._handlers[mtype] = handler

    def on_ack(self, handler: Callable[[link.Msg], None]) -> None:
        self._ack_handlers.append(handler)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mcu-link", daemon=True)
        self._thread.start()

    def send(self, mtype: int, body: bytes = b"") -> None:
        with self._lock:
            self._link.send(mtype, body, self._now())
            out = self._link.take_output()
        self._write(out)

    def idle(self) -> bool:
        with self._lock:
            return self._link.idle()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.port.close()

    # -- the reader thread

    def _now(self) -> int:
        return int(self.clock.monotonic() * 1000)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.port.read(256)
            except Exception as e:  # a vanished port: the service fails loudly at its next wait
                self._die(f"read failed: {e}")
                return
            try:
                self.pump(data)
            except LinkError as e:
                self._die(str(e))
                return
            except Exception:  # a bug must not leave the trap deaf: log it, keep reading
                self.reader_restarts += 1
                log.exception(
                    "mcu link: reader error (%d so far), reading on", self.reader_restarts
                )

    def _die(self, why: str) -> None:
        self.dead = why.removeprefix("mcu link: ")
        log.error("mcu link: %s; the reader stopped", self.dead)

    def pump(self, data: bytes) -> None:
        """Feed received bytes, run timers, dispatch messages (the reader thread calls this)."""
        with self._lock:
            now = self._now()
            msgs = self._link.feed(data, now) if data else []
            self._link.poll(now)
            acked = list(self._link.acked or [])
            if self._link.acked:
                self._link.acked.clear()
            failed, self._link.failed = self._link.failed, []
            out = self._link.take_output()
        self._write(out)
        self.failed += failed
        for msg in failed:
            log.warning("mcu link: gave up sending %r", msg)
        for msg in acked:
            for handler in self._ack_handlers:
                handler(msg)
        for msg in msgs:
            self._dispatch(msg)

    def _dispatch(self, msg: link.Msg) -> None:
        handler = self._handlers.get(msg.mtype)
        if handler is None:
            log.debug("mcu link: no handler for %r", msg)
            return
        try:
            handler(msg)
        except LinkError:
            raise
        except Exception as e:  # the link checked the body; a handler bug drops one message
            self.handler_errors += 1
            log.error("mcu link: %s handler failed: %r", link.NAMES.get(msg.mtype), e)

    def _write(self, data: bytes) -> None:
        if data:
            try:
                self.port.write(data)
            except Exception as e:
                raise LinkError(f"mcu link: write failed: {e}") from None


def open_serial(port: str, baud: int) -> SerialPort:
    """pyserial's Serial with a short read timeout (the reader thread polls timers)."""
    import serial

    try:
        return serial.Serial(port, baud, timeout=0.05)
    except (serial.SerialException, OSError) as e:
        raise LinkError(f"mcu link: cannot open {port}: {e}") from None


def probe_serial(port: str, baud: int) -> None:
    """The link's port opens at ``baud`` (and is closed again); a `LinkError` says why not."""
    open_serial(port, baud).close()


class HealthReport:
    """Tells the MCU the service's storage state (HEALTH) for its LoRa heartbeat: the service's
    ``on_storage``. The first report always goes (it clears a fault the MCU kept from an earlier
    boot), then only changes; the MCU keeps the flag through its resets."""

    def __init__(self, mcu: McuLink) -> None:
        self.mcu = mcu
        self.sent: int | None = None  # the flags last sent

    def __call__(self, storage_fault: str | None) -> None:
        flags = link.HEALTH_STORAGE if storage_fault else 0
        if flags != self.sent:
            self.sent = flags
            self.mcu.send(link.HEALTH, link.health_body(flags))
