"""Sans-IO drivers for LoRaWAN AT modems: the shared core (line parser, sequencer, Result).

One module per modem holds its commands and replies: ``trapfw.atmodem_e5`` (Seeed LoRa-E5 /
Wio-E5) and ``trapfw.atmodem_rak`` (RAK3172, RUI3), so the MCU imports only the configured
modem's driver (``driver_class(modem)``). Pure and MicroPython-compatible: a driver turns
operations into command lines and reply lines into one ``Result`` per operation; it never
touches a port or a clock. ``run()`` (on the Pi: ``camtrap.adapters.lora_modem.run``) is the
thin blocking loop over any transport with
``write(bytes)``, ``any() -> int`` and ``read(n)``: the MCU's ``machine.UART`` as it is, or
``camtrap.adapters.lora_modem.SerialTransport`` (pyserial) on a Pi::

    drv = driver_class("lora-e5")()                  # or "rak3172"
    r = run(drv, uart, lambda now: drv.send(10, payload, now), clock, sleep)
    if not r.ok and r.reason == NOT_JOINED and backoff.may_join(clock()):
        r = run(drv, uart, drv.join, clock, sleep)

Each operation ends in exactly one ``Result(op, ok, reason, detail, retry_in_s)``: ``ok`` only
after the modem's documented success reply (LoRa-E5 ``+MSGHEX: Done``, ``+JOIN: Network
joined`` ... ``+JOIN: Done``; RAK3172 ``OK`` then ``+EVT:TX_DONE`` / ``+EVT:JOINED``). The
documented failures map to reasons: ``busy``, ``not_joined``, ``no_free_channel``,
``duty_cycle`` (LoRa-E5 says how long: ``retry_in_s``), ``length_error``, ``dr_error``,
``bad_parameter``, ``unknown_command``, ``unavailable``, ``join_failed``, ``no_ack``,
``error``, ``timeout``. A reply the driver does not know is logged and fails the operation
(``unknown_reply``), never passes as success. Keys are redacted from every log line.

Low power (MCU): ``sleep()`` puts the modem into its low-power mode after an exchange (LoRa-E5
``AT+LOWPOWER``, RAK3172 ``AT+LPM=1``) and sets ``asleep``; while ``asleep`` the next
operation starts by waking the modem where its manual says so (LoRa-E5: any character wakes it,
it answers ``+LOWPOWER: WAKEUP``; RUI3's automatic low power wakes on UART traffic by itself).

Sessions: LoRa-E5 ``AT+JOIN`` answers ``Joined already`` when the modem holds a session;
RAK3172 ``joined()`` asks ``AT+NJS=?``. Send first and join only on ``not_joined`` (paced by
``trapfw.uplink.JoinBackoff``): never rejoin on every wake.
"""

import binascii

try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


OK = "ok"
BUSY = "busy"
NOT_JOINED = "not_joined"
NO_FREE_CHANNEL = "no_free_channel"
DUTY_CYCLE = "duty_cycle"
LENGTH_ERROR = "length_error"
DR_ERROR = "dr_error"
BAD_PARAMETER = "bad_parameter"
UNKNOWN_COMMAND = "unknown_command"
UNAVAILABLE = "unavailable"
JOIN_FAILED = "join_failed"
NO_ACK = "no_ack"
ERROR = "error"
TIMEOUT = "timeout"
UNKNOWN_REPLY = "unknown_reply"

MAX_LINE = const(512)  # a longer line without an end is garbage: dropped and logged

# Step handler verdicts (anything else a handler returns is a failure reason string).
WAIT = const(0)  # line understood, keep waiting
DONE = const(1)  # step finished well


class Result:
    """How one operation ended."""

    __slots__ = ("detail", "downlink", "joined", "ok", "op", "reason", "retry_in_s")

    def __init__(self, op, ok, reason=OK, detail="", retry_in_s=None, joined=None, downlink=None):
        self.op, self.ok, self.reason, self.detail = op, ok, reason, detail
        self.retry_in_s, self.joined, self.downlink = retry_in_s, joined, downlink


class ModemStateError(Exception):
    """An operation was started while another one is still running (a caller bug)."""


def _print_log(line):
    print("atmodem:", line)


def _redact(line):
    up = line.upper()
    for key in ("APPKEY", "NWKSKEY", "APPSKEY"):
        at = up.find(key)
        if at >= 0:
            return line[: at + len(key)] + " <redacted>"
    return line


class AtDriver:
    """Line parser and command sequencer shared by the modem drivers."""

    name = "modem"
    join_attempts = 1  # attempts one join() makes (the caller books the airtime of each)

    def __init__(self, log=None):
        self.log = log or _print_log
        self.asleep = False  # the modem is in its low-power mode (see the module docstring)
        self._rx = b""
        self._tx = []
        self._op = None
        self._steps = []
        self._deadline = 0.0
        self._info = {}
        self._result = None

    # -- the sans-IO surface ----------------------------------------------------------------

    def busy(self):
        """True while an operation waits for its replies."""
        return self._op is not None

    def deadline(self):
        """When the running operation times out (its ``now`` units)."""
        return self._deadline

    def outgoing(self):
        """Bytes to write to the modem now (drains the buffer)."""
        out = b"".join(self._tx)
        self._tx = []
        return out

    def feed(self, data, now):
        """Bytes read from the modem; returns the Result if an operation just ended."""
        self._rx += data
        while b"\n" in self._rx:
            raw, self._rx = self._rx.split(b"\n", 1)
            self._on_raw(raw.strip(b"\r \t\x00"), now)
        if len(self._rx) > MAX_LINE:
            self.log(f"{self.name}: dropped {len(self._rx)} bytes without a line end")
            self._rx = b""
        return self._result

    def tick(self, now):
        """Call when nothing arrived: ends the operation with ``timeout`` past its deadline."""
        if self._op is not None and now >= self._deadline:
            self._finish(False, TIMEOUT, f"no reply within the deadline to {self._steps[0][0]}")
        return self._result

    def take(self):
        """The Result of the operation that ended, once (None while it runs)."""
        r, self._result = self._result, None
        return r

    # -- operations (each driver implements them) ------------------------------------------

    check_reply = "OK"  # what the modem answers to a bare ``AT``

    def check(self, now, timeout_s=3.0):
        """``AT``: is the modem there and listening?"""

        def handle(line):
            return DONE if line == self.check_reply else UNKNOWN_REPLY

        self._start("check", [("AT", handle)], now, timeout_s)

    def join(self, now, timeout_s=None, attempts=1):
        """OTAA join (only after ``not_joined``: the modem keeps its session); ``timeout_s``
        None: the driver's own (long enough for every attempt it makes)."""
        raise NotImplementedError

    def send(self, fport, data, now, confirmed=False, timeout_s=30.0):
        """One uplink on ``fport``; unconfirmed unless ``confirmed``."""
        raise NotImplementedError

    def sleep(self, now, timeout_s=3.0):
        """The modem's low-power mode until the next operation (MCU: after every exchange)."""
        raise NotImplementedError

    def _wake_steps(self):
        """Steps that wake a sleeping modem before an operation (none: it wakes by itself)."""
        return []

    # -- sequencing -----------------------------------------------------------------------

    def _start(self, op, steps, now, timeout_s):
        if self._op is not None:
            raise ModemStateError(f"{self.name}: {op} started while {self._op} is running")
        if self.asleep and op != "sleep":
            steps = self._wake_steps() + list(steps)
        self.asleep = False
        self._op, self._steps, self._info = op, list(steps), {}
        self._deadline = now + timeout_s
        self._result = None
        self._issue()

    def _issue(self):
        cmd = self._steps[0][0]
        self.log(f"{self.name} > {_redact(cmd)}")
        self._tx.append(cmd.encode() + b"\r\n")

    def _on_raw(self, raw, now):
        if not raw:
            return
        try:
            line = raw.decode()
        except UnicodeError:
            line = repr(raw)
        self.log(f"{self.name} < {_redact(line)}")
        if self._op is None:
            self._unsolicited(line)
            return
        verdict = self._steps[0][1](line)
        if verdict == WAIT:
            return
        if verdict == DONE:
            self._steps.pop(0)
            if self._steps:
                self._issue()
            else:
                self._finish(True, OK, line)
            return
        self._finish(False, verdict, line)

    def _finish(self, ok, reason, detail):
        if (self._op == "sleep" and ok) or reason == TIMEOUT:
            self.asleep = True  # asleep, or unknown after silence: wake it first next time
        if reason == UNKNOWN_REPLY:
            self.log(f"{self.name}: unknown reply {_redact(detail)!r} fails {self._op}")
        self._result = Result(
            self._op,
            ok,
            reason,
            _redact(detail),
            self._info.get("retry_in_s"),
            self._info.get("joined"),
            self._info.get("downlink"),
        )
        self._op, self._steps = None, []

    def _unsolicited(self, line):
        self.log(f"{self.name}: ignored reply outside an operation: {_redact(line)!r}")


# ---------------------------------------------------------------------------------------------
# Helpers and the blocking loop


def hex_data(data):
    # binascii is on every MicroPython port; bytes.hex() is not (MICROPY_PY_BUILTINS_BYTES_HEX)
    return binascii.hexlify(bytes(data)).decode().upper()


def check_fport(fport):
    if not isinstance(fport, int) or not 1 <= fport <= 223:
        raise ValueError(f"FPort must be 1..223, got {fport!r}")
    return fport


def setup(name, *args, **kw):
    """``trapfw.modem_setup.<name>(...)``: the one-time setup commands, module unloaded after."""
    from trapfw import modem_setup

    try:
        return getattr(modem_setup, name)(*args, **kw)
    finally:
        _unload("modem_setup")


def _unload(name):
    import sys

    if sys.implementation.name == "micropython":
        import trapfw

        trapfw.unload(name)


MODEMS = ("lora-e5", "rak3172")


def driver_class(modem):
    """The driver class for ``modem`` (one of MODEMS); imports that driver's module only."""
    if modem == "lora-e5":
        from trapfw.atmodem_e5 import LoraE5

        return LoraE5
    if modem == "rak3172":
        from trapfw.atmodem_rak import Rak3172

        return Rak3172
    raise ValueError(f"unknown modem {modem!r} (known: {', '.join(MODEMS)})")
