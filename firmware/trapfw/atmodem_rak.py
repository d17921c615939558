"""RAK3172 driver (RUI3 AT commands, 115200 8N1); the core is ``trapfw.atmodem``.

Every command answers a status line (``OK`` or ``AT_*_ERROR``) first; join and send then end
with ``+EVT:JOINED`` / ``+EVT:TX_DONE`` (``+EVT:SEND_CONFIRMED_OK`` confirmed). ``joined()``
asks ``AT+NJS=?`` whether the modem holds a session.

From the RUI3 AT Command Manual (docs.rakwireless.com, RUI3 Serial Operating Modes) and the
RUI3 sources (``service_lora.c``):

* ``AT+JOIN=1:0:10:8``: join now, no auto-join, 10 s between attempts, up to 8 attempts. The
  modem answers ``OK`` at once and makes the attempts by itself; every failed one prints
  ``+EVT:JOIN_FAILED_RX_TIMEOUT`` (or ``_TX_TIMEOUT``, ``_<n>``), and a command meanwhile gets
  ``AT_BUSY_ERROR``. So a join ends at ``+EVT:JOINED`` or at the last attempt's failure, and
  its caller books the airtime of every attempt.
* The duty-cycle status is spelled ``AT_DUTYCYLE_RESTRICTED`` by RUI3 (sic); the corrected
  spelling is accepted too.
* ``AT+LPM=1``: automatic low power, the modem sleeps whenever idle and wakes on UART input.
* ``AT+MASK=0002``: US915/AU915 sub-band 2 (one bit per 8-channel sub-band).
"""

from trapfw import atmodem as at

try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


_WAIT = const(0)  # = atmodem.WAIT: line understood, keep waiting
_DONE = const(1)  # = atmodem.DONE: step finished well

RAK_STATUS = {
    "OK": None,
    "AT_ERROR": at.ERROR,
    "AT_PARAM_ERROR": at.BAD_PARAMETER,
    "AT_BUSY_ERROR": at.BUSY,
    "AT_NO_NETWORK_JOINED": at.NOT_JOINED,
    "AT_DUTYCYLE_RESTRICTED": at.DUTY_CYCLE,  # RUI3's own spelling (sic)
    "AT_DUTYCYCLE_RESTRICTED": at.DUTY_CYCLE,
    "AT_TEST_PARAM_OVERFLOW": at.BAD_PARAMETER,
    "AT_RX_ERROR": at.ERROR,
    "AT_NO_CLASSB_ENABLE": at.ERROR,
    "AT_COMMAND_NOT_FOUND": at.UNKNOWN_COMMAND,
}
JOIN_ATTEMPTS = 8  # AT+JOIN=1:0:10:8, as in the RUI3 manual's example
JOIN_INTERVAL_S = 10
JOIN_ATTEMPT_S = 20  # one attempt: the interval + the join-accept windows (5 s / 6 s) + margin


class Rak3172(at.AtDriver):
    """RAK3172 (RUI3 AT commands): ``OK`` first, the outcome later as ``+EVT:...``."""

    name = "rak3172"
    baud = 115200
    join_attempts = JOIN_ATTEMPTS
    time_evt = None  # "OK" / "FAILED" of the last ``+EVT:TIMEREQ_...`` (trapfw.lw_time)

    def _status_step(self, cmd):
        """A command answered by a status line only."""

        def handle(line):
            if line in RAK_STATUS:
                fail = RAK_STATUS[line]
                return _DONE if fail is None else fail
            return at.UNKNOWN_REPLY

        return (cmd, handle)

    def configure(self, now, *args, **kw):
        """One-time OTAA setup (the modem keeps it in flash): ``region, dev_eui, app_eui,
        app_key`` and ``dr=``, ``adr=``, ``subband=`` (``trapfw.modem_setup.rak_setup``, loaded
        for the call only). Keys are never logged."""
        cmds = at.setup("rak_setup", *args, **kw)
        self._start("configure", [self._status_step(c) for c in cmds], now, 10.0)

    def joined(self, now, timeout_s=3.0):
        """``AT+NJS=?``: Result.joined says whether the modem holds a session."""

        def handle(line):
            if line.startswith("AT+NJS="):
                value = line[len("AT+NJS=") :]
                if value not in ("0", "1"):
                    return at.UNKNOWN_REPLY
                self._info["joined"] = value == "1"
                return _WAIT
            if line in RAK_STATUS:
                fail = RAK_STATUS[line]
                if fail is None:
                    return _DONE if "joined" in self._info else at.UNKNOWN_REPLY
                return fail
            return at.UNKNOWN_REPLY

        self._start("joined", [("AT+NJS=?", handle)], now, timeout_s)

    def sleep(self, now, timeout_s=3.0):
        """``AT+LPM=1``: RUI3's automatic low power (asleep whenever idle, wakes on UART)."""
        self._start("sleep", [self._status_step("AT+LPM=1")], now, timeout_s)

    def join(self, now, timeout_s=None, attempts=JOIN_ATTEMPTS):
        """``AT+JOIN=1:0:10:<attempts>``: the modem makes up to ``attempts`` attempts itself."""
        if timeout_s is None:
            timeout_s = attempts * JOIN_ATTEMPT_S + 10

        def handle(line):
            return self._join_line(line, attempts)

        cmd = f"AT+JOIN=1:0:{JOIN_INTERVAL_S}:{attempts}"
        self._start("join", [(cmd, handle)], now, timeout_s)

    def _join_line(self, line, attempts):
        if line == "OK":
            self._info["accepted"] = True
            return _WAIT
        if line in RAK_STATUS:
            return RAK_STATUS[line]
        if not self._info.get("accepted"):
            return at.UNKNOWN_REPLY
        if line == "+EVT:JOINED":
            self._info["joined"] = True
            return _DONE
        if line.startswith("+EVT:JOIN_FAILED") or line == "+EVT:JOIN FAILED":
            failed = self._info.get("failed", 0) + 1
            self._info["failed"] = failed
            if failed < attempts:
                return _WAIT  # the modem tries again by itself
            self._info["joined"] = False
            return at.JOIN_FAILED
        return at.UNKNOWN_REPLY

    def send(self, fport, data, now, confirmed=False, timeout_s=30.0):
        """``AT+CFM=0|1`` then ``AT+SEND=<port>:<hex>``; ok on ``+EVT:TX_DONE``."""

        def handle(line):
            return self._send_line(confirmed, line)

        steps = [
            self._status_step("AT+CFM=1" if confirmed else "AT+CFM=0"),
            (f"AT+SEND={at.check_fport(fport)}:{at.hex_data(data)}", handle),
        ]
        self._start("send", steps, now, timeout_s)

    def _send_line(self, confirmed, line):
        if line == "OK":
            self._info["accepted"] = True
            return _WAIT
        if line in RAK_STATUS:
            fail = RAK_STATUS[line]
            return at.LENGTH_ERROR if fail == at.BAD_PARAMETER else fail
        if not self._info.get("accepted"):
            return at.UNKNOWN_REPLY
        if line.startswith("+EVT:TIMEREQ_"):  # the network's DeviceTimeAns (AT+TIMEREQ=1)
            self.time_evt = line[13:]
            return _WAIT
        if line.startswith("+EVT:RX_"):
            self._info["downlink"] = line
            return _WAIT
        if confirmed:
            if line == "+EVT:SEND_CONFIRMED_OK":
                return _DONE
            if line.startswith("+EVT:SEND_CONFIRMED_FAILED"):
                return at.NO_ACK
        elif line == "+EVT:TX_DONE":
            return _DONE
        return at.UNKNOWN_REPLY

    def _unsolicited(self, line):
        if line.startswith("+EVT:TIMEREQ_"):  # RUI3 prints it after the uplink's TX_DONE
            self.time_evt = line[13:]
            return
        super()._unsolicited(line)
