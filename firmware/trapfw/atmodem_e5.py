"""Seeed LoRa-E5 / Wio-E5 AT firmware driver (9600 8N1); the core is ``trapfw.atmodem``.

Success: ``+MSGHEX: Done`` (``+CMSGHEX`` confirmed), ``+JOIN: Network joined`` ... ``+JOIN:
Done``; ``AT+JOIN`` answers ``Joined already`` when the modem holds a session. Failures map to
the core's reasons; ``No band in <ms>`` gives ``duty_cycle`` with ``retry_in_s``.

Low power (Seeed LoRa-E5 AT Command Specification V1.0, ``AT+LOWPOWER``): ``AT+LOWPOWER``
answers ``+LOWPOWER: SLEEP`` and the modem sleeps until a character arrives on its UART; the
characters that wake it are not taken as a command, and it answers ``+LOWPOWER: WAKEUP``. So
an operation on a sleeping modem starts with ``AT`` (ok on ``+LOWPOWER: WAKEUP``, or ``+AT:
OK`` from a modem that was awake after all). US915/AU915 sub-band: ``AT+CH=NUM,8-15`` (FSB2),
as in Seeed's LoRa-E5 wiki for TTN.
"""

from trapfw.atmodem import (
    BAD_PARAMETER,
    BUSY,
    DONE,
    DR_ERROR,
    DUTY_CYCLE,
    ERROR,
    JOIN_FAILED,
    LENGTH_ERROR,
    NO_ACK,
    NO_FREE_CHANNEL,
    NOT_JOINED,
    UNAVAILABLE,
    UNKNOWN_COMMAND,
    UNKNOWN_REPLY,
    WAIT,
    AtDriver,
    check_fport,
    hex_data,
    setup,
)

E5_ERRORS = (
    ("Please join network first", NOT_JOINED),
    ("LoRaWAN modem is busy", BUSY),
    ("No free channel", NO_FREE_CHANNEL),
    ("No band in", DUTY_CYCLE),
    ("Length error", LENGTH_ERROR),
    ("DR error", DR_ERROR),
)
E5_CMD_ERRORS = {-1: BAD_PARAMETER, -10: UNKNOWN_COMMAND, -12: UNAVAILABLE}
_HARMLESS = ("+AT: OK", "+LOWPOWER: WAKEUP")  # late replies of a wake-up ``AT``


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
            if line in _HARMLESS:
                return "", WAIT
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

    def configure(
        self, now, region, dev_eui, app_eui, app_key, timeout_s=10.0, dr=None, adr=None, subband=2
    ):
        """One-time OTAA setup (the modem keeps it in flash). Keys are never logged.

        ``dr``: the data rate to start (and join) at; ``adr``: True/False sends ``AT+ADR``;
        ``subband`` (1-8): the 8-channel sub-band for US915/AU915. None leaves it as it is.
        """
        args = (region, dev_eui, app_eui, app_key, dr, adr, subband)
        steps = [self._echo_step(c, n) for c, n in setup("e5_setup", *args)]
        self._start("configure", steps, now, timeout_s)

    def sleep(self, now, timeout_s=3.0):
        """``AT+LOWPOWER`` -> ``+LOWPOWER: SLEEP``: asleep until the next operation wakes it."""

        def handle(line):
            value, fail = self._reply("LOWPOWER", line)
            if fail is not None:
                return fail
            return DONE if value == "SLEEP" else UNKNOWN_REPLY

        self._start("sleep", [("AT+LOWPOWER", handle)], now, timeout_s)

    def _wake_steps(self):
        def handle(line):
            return DONE if line in _HARMLESS else UNKNOWN_REPLY

        return [("AT", handle)]

    def join(self, now, timeout_s=60.0, attempts=1):
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
            self._echo_step(f"AT+PORT={check_fport(fport)}", "PORT"),
            (f'AT+{name}="{hex_data(data)}"', handle),
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
