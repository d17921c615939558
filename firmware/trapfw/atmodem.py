"""Sans-IO drivers for LoRaWAN AT modems: Seeed LoRa-E5 / Wio-E5 and RAK3172 (RUI3).

Pure and MicroPython-compatible: a driver turns operations into command lines and reply lines
into one ``Result`` per operation; it never touches a port or a clock. ``run()`` is the thin
blocking loop over any transport with ``write(bytes)``, ``any() -> int`` and ``read(n)``: the
MCU's ``machine.UART`` as it is, or ``camtrap.lora.serial_modem.SerialTransport`` (pyserial) on
a Pi::

    drv = LoraE5()                                   # or Rak3172()
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

Sessions: LoRa-E5 ``AT+JOIN`` answers ``Joined already`` when the modem holds a session;
RAK3172 ``joined()`` asks ``AT+NJS=?``. Send first and join only on ``not_joined`` (paced by
``trapfw.uplink.JoinBackoff``): never rejoin on every wake.
"""

import binascii

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

MAX_LINE = 512  # a longer line without an end is garbage: dropped and logged

# Step handler verdicts (anything else a handler returns is a failure reason string).
WAIT = 0  # line understood, keep waiting
DONE = 1  # step finished well


class Result:
    """How one operation ended."""

    __slots__ = ("detail", "downlink", "joined", "ok", "op", "reason", "retry_in_s")

    def __init__(self, op, ok, reason=OK, detail="", retry_in_s=None, joined=None, downlink=None):
        self.op, self.ok, self.reason, self.detail = op, ok, reason, detail
        self.retry_in_s, self.joined, self.downlink = retry_in_s, joined, downlink

    def __repr__(self):
        return f"Result({self.op}, ok={self.ok}, {self.reason}, {self.detail!r})"


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

    def __init__(self, log=None):
        self.log = log or _print_log
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

    def check(self, now, timeout_s=3.0):
        """Is the modem there and listening?"""
        raise NotImplementedError

    def join(self, now, timeout_s=60.0):
        """OTAA join (only after ``not_joined``: the modem keeps its session)."""
        raise NotImplementedError

    def send(self, fport, data, now, confirmed=False, timeout_s=30.0):
        """One uplink on ``fport``; unconfirmed unless ``confirmed``."""
        raise NotImplementedError

    # -- sequencing -----------------------------------------------------------------------

    def _start(self, op, steps, now, timeout_s):
        if self._op is not None:
            raise ModemStateError(f"{self.name}: {op} started while {self._op} is running")
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
# Seeed LoRa-E5 / Wio-E5 (9600 8N1)

E5_ERRORS = (
    ("Please join network first", NOT_JOINED),
    ("LoRaWAN modem is busy", BUSY),
    ("No free channel", NO_FREE_CHANNEL),
    ("No band in", DUTY_CYCLE),
    ("Length error", LENGTH_ERROR),
    ("DR error", DR_ERROR),
)
E5_CMD_ERRORS = {-1: BAD_PARAMETER, -10: UNKNOWN_COMMAND, -12: UNAVAILABLE}
E5_REGIONS = ("EU868", "US915", "AS923", "IN865", "KR920", "RU864", "CN470")


def _split_e5(line):
    """``+MSGHEX: Done`` -> ("MSGHEX", "Done"); anything else -> (None, line)."""
    if line.startswith("+") and ":" in line:
        name, rest = line[1:].split(":", 1)
        return name.strip(), rest.strip()
    return "", line


class LoraE5(AtDriver):
    """Seeed LoRa-E5 / Wio-E5 AT firmware."""

    name = "lora-e5"
    baud = 9600

    def _reply(self, name, line):
        """(value, failure reason or None) of a line for command ``name``."""
        got, value = _split_e5(line)
        if got != name:
            if got is not None and value == "Done":
                return "", WAIT  # a late "Done" of an earlier command: harmless
            return "", UNKNOWN_REPLY
        if value.startswith("ERROR(") and value.endswith(")"):
            try:
                code = int(value[6:-1])
            except ValueError:
                return "", UNKNOWN_REPLY
            return "", E5_CMD_ERRORS.get(code, ERROR)
        for text, reason in E5_ERRORS:
            if value.startswith(text):
                if reason == DUTY_CYCLE:
                    self._info["retry_in_s"] = _e5_band_wait_s(value)
                return "", reason
        return value, None

    def _echo_step(self, cmd, name):
        """A command whose only reply is one ``+NAME: value`` line."""

        def handle(line):
            fail = self._reply(name, line)[1]
            return fail if fail is not None else DONE

        return (cmd, handle)

    def check(self, now, timeout_s=3.0):
        """``AT`` -> ``+AT: OK``: the modem is there and listening."""

        def handle(line):
            value, fail = self._reply("AT", line)
            if fail is not None:
                return fail
            return DONE if value == "OK" else UNKNOWN_REPLY

        self._start("check", [("AT", handle)], now, timeout_s)

    def configure(self, now, region, dev_eui, app_eui, app_key, timeout_s=10.0):
        """One-time OTAA setup (the modem keeps it in flash). Keys are never logged."""
        if region not in E5_REGIONS:
            raise ValueError(f"lora-e5: unknown region {region!r}")
        steps = [
            self._echo_step("AT+MODE=LWOTAA", "MODE"),
            self._echo_step("AT+DR=" + region, "DR"),
            self._echo_step(f'AT+ID=DevEui,"{_hex_id(dev_eui)}"', "ID"),
            self._echo_step(f'AT+ID=AppEui,"{_hex_id(app_eui)}"', "ID"),
            self._echo_step(f'AT+KEY=APPKEY,"{_hex_key(app_key)}"', "KEY"),
            self._echo_step("AT+CLASS=A", "CLASS"),
        ]
        self._start("configure", steps, now, timeout_s)

    def join(self, now, timeout_s=60.0):
        """``AT+JOIN``: ok once joined (or ``Joined already``); ``join_failed`` otherwise."""
        self._start("join", [("AT+JOIN", self._join_line)], now, timeout_s)

    def _join_line(self, line):
        value, fail = self._reply("JOIN", line)
        if fail is not None:
            return fail
        if value == "Start":
            self._info["started"] = True
            return WAIT
        if value in ("NORMAL", "FORCE") or value.startswith("NetID"):
            return WAIT
        if value == "Network joined":
            self._info["joined"] = True
            return WAIT
        if value == "Joined already":
            self._info["joined"] = True
            return DONE
        if value == "Join failed":
            self._info["joined"] = False
            return WAIT
        if value == "Done":
            if not self._info.get("started"):
                return WAIT  # a late "Done" of an earlier JOIN, not this one's
            return DONE if self._info.get("joined") else JOIN_FAILED
        return UNKNOWN_REPLY

    def send(self, fport, data, now, confirmed=False, timeout_s=30.0):
        """``AT+PORT`` then ``AT+MSGHEX`` (``AT+CMSGHEX`` only when ``confirmed``)."""
        name = "CMSGHEX" if confirmed else "MSGHEX"

        def handle(line):
            return self._msg_line(name, confirmed, line)

        steps = [
            self._echo_step(f"AT+PORT={_check_fport(fport)}", "PORT"),
            (f'AT+{name}="{_hex(data)}"', handle),
        ]
        self._start("send", steps, now, timeout_s)

    def _msg_line(self, name, confirmed, line):
        value, fail = self._reply(name, line)
        if fail is not None:
            return fail
        if value == "Start":
            self._info["started"] = True
            return WAIT
        if value in ("FPENDING", "Wait ACK") or _is_rx_info(value):
            return WAIT
        if value == "ACK Received":
            self._info["ack"] = True
            return WAIT
        if value.startswith("PORT:") and "RX:" in value:
            self._info["downlink"] = value
            return WAIT
        if value == "Done":
            if not self._info.get("started"):
                return WAIT  # a late "Done" of an earlier message, not this one's
            return NO_ACK if confirmed and not self._info.get("ack") else DONE
        return UNKNOWN_REPLY


def _is_rx_info(value):
    return value.startswith("RXWIN") or value.startswith("MACCMD")


def _e5_band_wait_s(value):
    """``No band in 146836ms`` -> 146.836 (None when the number is missing)."""
    digits = "".join(c for c in value if c.isdigit())
    return int(digits) / 1000 if digits else None


# ---------------------------------------------------------------------------------------------
# RAK3172 with RUI3 firmware (115200 8N1)

RAK_STATUS = {
    "OK": None,
    "AT_ERROR": ERROR,
    "AT_PARAM_ERROR": BAD_PARAMETER,
    "AT_BUSY_ERROR": BUSY,
    "AT_NO_NETWORK_JOINED": NOT_JOINED,
    "AT_DUTYCYCLE_RESTRICTED": DUTY_CYCLE,
    "AT_COMMAND_NOT_FOUND": UNKNOWN_COMMAND,
}
RAK_BANDS = {
    "CN470": 1,
    "RU864": 2,
    "IN865": 3,
    "EU868": 4,
    "US915": 5,
    "KR920": 7,
    "AS923": 8,
}  # RUI3 AT+BAND numbers (AS923 = AS923-1)


class Rak3172(AtDriver):
    """RAK3172 (RUI3 AT commands): ``OK`` first, the outcome later as ``+EVT:...``."""

    name = "rak3172"
    baud = 115200

    def _status_step(self, cmd):
        """A command answered by a status line only."""

        def handle(line):
            if line in RAK_STATUS:
                fail = RAK_STATUS[line]
                return DONE if fail is None else fail
            return UNKNOWN_REPLY

        return (cmd, handle)

    def check(self, now, timeout_s=3.0):
        self._start("check", [self._status_step("AT")], now, timeout_s)

    def configure(self, now, region, dev_eui, app_eui, app_key, timeout_s=10.0):
        """One-time OTAA setup (RUI3 keeps it in flash). Keys are never logged."""
        if region not in RAK_BANDS:
            raise ValueError(f"rak3172: unknown region {region!r}")
        steps = [
            self._status_step("AT+NJM=1"),
            self._status_step(f"AT+BAND={RAK_BANDS[region]}"),
            self._status_step("AT+DEVEUI=" + _hex_id(dev_eui).replace(":", "")),
            self._status_step("AT+APPEUI=" + _hex_id(app_eui).replace(":", "")),
            self._status_step("AT+APPKEY=" + _hex_key(app_key)),
            self._status_step("AT+CLASS=A"),
        ]
        self._start("configure", steps, now, timeout_s)

    def joined(self, now, timeout_s=3.0):
        """``AT+NJS=?``: Result.joined says whether the modem holds a session."""

        def handle(line):
            if line.startswith("AT+NJS="):
                value = line[len("AT+NJS=") :]
                if value not in ("0", "1"):
                    return UNKNOWN_REPLY
                self._info["joined"] = value == "1"
                return WAIT
            if line in RAK_STATUS:
                fail = RAK_STATUS[line]
                if fail is None:
                    return DONE if "joined" in self._info else UNKNOWN_REPLY
                return fail
            return UNKNOWN_REPLY

        self._start("joined", [("AT+NJS=?", handle)], now, timeout_s)

    def join(self, now, timeout_s=60.0):
        """``AT+JOIN=1:0:10:8`` (join now, no auto-join, 10 s between 8 attempts)."""
        self._start("join", [("AT+JOIN=1:0:10:8", self._join_line)], now, timeout_s)

    def _join_line(self, line):
        if line == "OK":
            self._info["accepted"] = True
            return WAIT
        if line in RAK_STATUS:
            return RAK_STATUS[line]
        if not self._info.get("accepted"):
            return UNKNOWN_REPLY
        if line == "+EVT:JOINED":
            self._info["joined"] = True
            return DONE
        if line.startswith("+EVT:JOIN_FAILED"):
            self._info["joined"] = False
            return JOIN_FAILED
        return UNKNOWN_REPLY

    def send(self, fport, data, now, confirmed=False, timeout_s=30.0):
        """``AT+CFM=0|1`` then ``AT+SEND=<port>:<hex>``; ok on ``+EVT:TX_DONE``."""

        def handle(line):
            return self._send_line(confirmed, line)

        steps = [
            self._status_step("AT+CFM=1" if confirmed else "AT+CFM=0"),
            (f"AT+SEND={_check_fport(fport)}:{_hex(data)}", handle),
        ]
        self._start("send", steps, now, timeout_s)

    def _send_line(self, confirmed, line):
        if line == "OK":
            self._info["accepted"] = True
            return WAIT
        if line in RAK_STATUS:
            fail = RAK_STATUS[line]
            return LENGTH_ERROR if fail == BAD_PARAMETER else fail
        if not self._info.get("accepted"):
            return UNKNOWN_REPLY
        if line.startswith("+EVT:RX_"):
            self._info["downlink"] = line
            return WAIT
        if confirmed:
            if line == "+EVT:SEND_CONFIRMED_OK":
                return DONE
            if line.startswith("+EVT:SEND_CONFIRMED_FAILED"):
                return NO_ACK
        elif line == "+EVT:TX_DONE":
            return DONE
        return UNKNOWN_REPLY


# ---------------------------------------------------------------------------------------------
# Helpers and the blocking loop


def _hex(data):
    # binascii is on every MicroPython port; bytes.hex() is not (MICROPY_PY_BUILTINS_BYTES_HEX)
    return binascii.hexlify(bytes(data)).decode().upper()


def _check_fport(fport):
    if not isinstance(fport, int) or not 1 <= fport <= 223:
        raise ValueError(f"FPort must be 1..223, got {fport!r}")
    return fport


def _hex_of(value, nbytes, what):
    text = value.replace(":", "").replace(" ", "").upper()
    if len(text) != 2 * nbytes or any(c not in "0123456789ABCDEF" for c in text):
        raise ValueError(f"{what} must be {nbytes} bytes of hex")
    return text


def _hex_id(value):
    """An EUI as ``00:11:22:33:44:55:66:77`` (validated)."""
    text = _hex_of(value, 8, "EUI")
    return ":".join(text[i : i + 2] for i in range(0, 16, 2))


def _hex_key(value):
    return _hex_of(value, 16, "AppKey")


def run(driver, transport, start, clock, sleep, poll_s=0.01):
    """Start an operation (``start(now)``) and pump it over ``transport`` until its Result.

    ``transport``: ``write(bytes)``, ``any() -> int``, ``read(n) -> bytes or None``;
    ``clock() -> seconds``; ``sleep(seconds)``. The operation's own deadline bounds the loop.
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
