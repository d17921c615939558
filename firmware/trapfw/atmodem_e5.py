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

from trapfw import atmodem as at

try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


_WAIT = const(0)  # = atmodem.WAIT: line understood, keep waiting
_DONE = const(1)  # = atmodem.DONE: step finished well

E5_ERRORS = (
    ("Please join network first", at.NOT_JOINED),
    ("LoRaWAN modem is busy", at.BUSY),
    ("No free channel", at.NO_FREE_CHANNEL),
    ("No band in", at.DUTY_CYCLE),
    ("Length error", at.LENGTH_ERROR),
    ("DR error", at.DR_ERROR),
)
E5_CMD_ERRORS = {-1: at.BAD_PARAMETER, -10: at.UNKNOWN_COMMAND, -12: at.UNAVAILABLE}
_HARMLESS = ("+AT: OK", "+LOWPOWER: WAKEUP")  # late replies of a wake-up ``AT``


def _split_e5(line):
    """``+MSGHEX: Done`` -> ("MSGHEX", "Done"); anything else -> (None, line)."""
    if line.startswith("+") and ":" in line:
        name, rest = line[1:].split(":", 1)
        return name.strip(), rest.strip()
    return "", line


class LoraE5(at.AtDriver):
    """Seeed LoRa-E5 / Wio-E5 AT firmware."""

    name = "lora-e5"
    baud = 9600
    check_reply = "+AT: OK"

    def _reply(self, name, line):
        """(value, failure reason or None) of a line for command ``name``."""
        got, value = _split_e5(line)
        if got != name:
            if line in _HARMLESS:
                return "", _WAIT
            if got is not None and value == "Done":
                return "", _WAIT  # a late "Done" of an earlier command: harmless
            return "", at.UNKNOWN_REPLY
        if value.startswith("ERROR(") and value.endswith(")"):
            try:
                code = int(value[6:-1])
            except ValueError:
                return "", at.UNKNOWN_REPLY
            return "", E5_CMD_ERRORS.get(code, at.ERROR)
        for text, reason in E5_ERRORS:
            if value.startswith(text):
                if reason == at.DUTY_CYCLE:
                    self._info["retry_in_s"] = _e5_band_wait_s(value)
                return "", reason
        return value, None

    def _echo_step(self, cmd, name):
        """A command whose only reply is one ``+NAME: value`` line."""

        def handle(line):
            fail = self._reply(name, line)[1]
            return fail if fail is not None else _DONE

        return (cmd, handle)

    def configure(self, now, *args, **kw):
        """One-time OTAA setup (the modem keeps it in flash): ``region, dev_eui, app_eui,
        app_key`` and ``dr=``, ``adr=``, ``subband=`` (``trapfw.modem_setup.e5_setup``, loaded
        for the call only). Keys are never logged."""
        cmds = at.setup("e5_setup", *args, **kw)
        self._start("configure", [self._echo_step(c, n) for c, n in cmds], now, 10.0)

    def sleep(self, now, timeout_s=3.0):
        """``AT+LOWPOWER`` -> ``+LOWPOWER: SLEEP``: asleep until the next operation wakes it."""

        def handle(line):
            value, fail = self._reply("LOWPOWER", line)
            if fail is not None:
                return fail
            return _DONE if value == "SLEEP" else at.UNKNOWN_REPLY

        self._start("sleep", [("AT+LOWPOWER", handle)], now, timeout_s)

    def _wake_steps(self):
        def handle(line):
            return _DONE if line in _HARMLESS else at.UNKNOWN_REPLY

        return [("AT", handle)]

    def join(self, now, timeout_s=None, attempts=1):
        """``AT+JOIN``: ok once joined (or ``Joined already``); ``join_failed`` otherwise. The
        reply parser is in ``trapfw.e5_join``, imported by the first join only: a modem that
        keeps its session (nearly always) never puts it on the heap."""
        from trapfw import e5_join

        self._start("join", [("AT+JOIN", e5_join.handler(self))], now, timeout_s or 60.0)

    def send(self, fport, data, now, confirmed=False, timeout_s=30.0):
        """``AT+PORT`` then ``AT+MSGHEX`` (``AT+CMSGHEX`` only when ``confirmed``)."""
        name = "CMSGHEX" if confirmed else "MSGHEX"

        def handle(line):
            return self._msg_line(name, confirmed, line)

        steps = [
            self._echo_step(f"AT+PORT={at.check_fport(fport)}", "PORT"),
            (f'AT+{name}="{at.hex_data(data)}"', handle),
        ]
        self._start("send", steps, now, timeout_s)

    def _msg_line(self, name, confirmed, line):
        value, fail = self._reply(name, line)
        if fail is not None:
            return fail
        if value == "Start":
            self._info["started"] = True
            return _WAIT
        if value.startswith("RXWIN"):  # a downlink window opened: e.g. the DeviceTimeAns
            self._info["downlink"] = self._info.get("downlink") or value
            return _WAIT
        if value in ("FPENDING", "Wait ACK") or _is_rx_info(value):
            return _WAIT
        if value == "ACK Received":
            self._info["ack"] = True
            return _WAIT
        if value.startswith("PORT:") and "RX:" in value:
            self._info["downlink"] = value
            return _WAIT
        if value == "Done":
            if not self._info.get("started"):
                return _WAIT  # a late "Done" of an earlier message, not this one's
            return at.NO_ACK if confirmed and not self._info.get("ack") else _DONE
        return at.UNKNOWN_REPLY


def _is_rx_info(value):
    return value.startswith("RXWIN") or value.startswith("MACCMD")


def _e5_band_wait_s(value):
    """``No band in 146836ms`` -> 146.836 (None when the number is missing)."""
    digits = "".join(c for c in value if c.isdigit())
    return int(digits) / 1000 if digits else None
