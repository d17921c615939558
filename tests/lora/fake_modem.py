"""A simulated LoRaWAN AT modem on the master side of a real pseudo-terminal.

It speaks the documented replies of the Seeed LoRa-E5 and the RAK3172 (RUI3), including their
failures, from its own thread, a line at a time with small gaps (as a UART does): LoRa-E5
``AT+LOWPOWER`` sleep and wake-up (Seeed LoRa-E5 AT Command Specification V1.0), RUI3
``AT+JOIN=1:0:<s>:<n>`` with one ``+EVT:JOIN_FAILED_RX_TIMEOUT`` per failed attempt (its
``service_lora.c``; the interval is compressed to milliseconds here), ``AT+LPM``, and RUI3's
``AT_DUTYCYLE_RESTRICTED`` (sic). Network time (docs/lora.md, "Network time"): the network
server's clock is ``utc()``; a DeviceTimeReq (LoRa-E5 ``AT+LW=DTR`` -> ``+LW: DTR``; RAK3172
``AT+TIMEREQ=1`` -> ``OK``) is answered in the next uplink's RX1 with GPS seconds, and the
modem sets its clock as its firmware does: the E5 shows ``+MSGHEX: RXWIN1, RSSI -37, SNR 8.0``
and answers ``AT+RTC`` with ``+RTC: YYYY-MM-DD hh:mm:ss``; RUI3 prints ``+EVT:TIMEREQ_OK``
(``_FAILED`` when the network is silent) after ``+EVT:TX_DONE`` and answers ``AT+LTIME=?``
with ``LTIME:hhHmmMssS on MM/DD/YYYY`` (its GPS-based SysTime minus 18 leap seconds).
``old_firmware``: the time commands are unknown. The code
under test opens the slave side with pyserial, exactly as it would open /dev/ttyUSB0::

    with FakeModem("lora-e5", joined=False) as modem:
        SerialModem.open(modem.path, "lora-e5")...
        modem.sent  # [(fport, bytes)] of the uplinks it "transmitted"
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from collections.abc import Callable

import serial

GPS_EPOCH_UNIX = 315964800  # 1980-01-06T00:00:00Z
LEAP_S = 18  # GPS - UTC since 2017-01-01
E5_RTC_START = 946684800  # 2000-01-01T00:00:00Z


class FakeModem:
    def __init__(
        self,
        kind: str,
        joined: bool = True,
        fail: str | None = None,
        join_fails: bool = False,
        mute: bool = False,
        utc: Callable[[], float] | None = time.time,
        old_firmware: bool = False,
    ) -> None:
        self.kind, self.joined, self.fail = kind, joined, fail
        self.join_fails, self.mute = join_fails, mute
        self.utc, self.old_firmware = utc, old_firmware  # utc None: the network never answers
        self.time_asked = False
        self.time_answered = 0
        # the modem's clock at monotonic 0: the E5's STM32 calendar resets to 2000-01-01,
        # RUI3's SysTime counts from 0 (1970) until a DeviceTimeAns
        self._clock_base = (E5_RTC_START if kind == "lora-e5" else 0) - time.monotonic()
        self.sent: list[tuple[int, bytes]] = []
        self.commands: list[str] = []
        self.joins = 0
        self._port = 8
        self._confirmed = False
        self.asleep = False
        self.lpm = False
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeModem:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self.master)
        os.close(self.slave)

    # ------------------------------------------------------------------------------------

    def _serve(self) -> None:
        buf = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                buf += os.read(self.master, 1024)
            except OSError:
                return
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.strip().decode()
                if text:
                    self.commands.append(text)
                    if self.asleep and not self.mute:
                        self.asleep = False  # the waking characters are not a command
                        self._say("+LOWPOWER: WAKEUP")
                    elif not self.mute:
                        self._answer(text)

    def _say(self, *lines: str) -> None:
        for line in lines:
            time.sleep(0.003)
            os.write(self.master, line.encode() + b"\r\n")

    def _answer(self, cmd: str) -> None:
        if self.kind == "lora-e5":
            self._answer_e5(cmd)
        else:
            self._answer_rak(cmd)

    # -- Seeed LoRa-E5 --------------------------------------------------------------------

    def _answer_e5(self, cmd: str) -> None:
        if cmd == "AT":
            self._say("+AT: OK")
        elif cmd.startswith("AT+PORT="):
            self._port = int(cmd.split("=", 1)[1])
            self._say(f"+PORT: {self._port}")
        elif cmd.startswith(("AT+MSGHEX=", "AT+CMSGHEX=")):
            self._msg_e5(cmd)
        elif cmd == "AT+JOIN":
            self._join_e5()
        elif cmd == "AT+LOWPOWER":
            self._say("+LOWPOWER: SLEEP")
            self.asleep = True
        elif cmd == "AT+LW=DTR" and not self.old_firmware:
            self.time_asked = True
            self._say("+LW: DTR")
        elif cmd == "AT+RTC" and not self.old_firmware:
            self._say("+RTC: " + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self._modem_s())))
        else:
            name = cmd[3:].split("=", 1)[0] if cmd.startswith("AT+") else "AT"
            self._say(f"+{name}: ERROR(-10)")  # the spec's "unknown command" error

    def _msg_e5(self, cmd: str) -> None:
        name = cmd[3:].split("=", 1)[0]
        data = bytes.fromhex(cmd.split("=", 1)[1].strip('"'))
        if self.fail:
            self._say(f"+{name}: {self.fail}")
        elif not self.joined:
            self._say(f"+{name}: Please join network first")
        elif len(data) > 51:
            self._say(f"+{name}: Length error {len(data)}")
        else:
            self.sent.append((self._port, data))
            if self._network_answers_time():  # DeviceTimeAns in RX1
                self._say(f"+{name}: Start", f"+{name}: RXWIN1, RSSI -37, SNR 8.0")
            else:
                self._say(f"+{name}: Start")
            self._say(f"+{name}: Done")

    def _join_e5(self) -> None:
        self.joins += 1
        if self.joined:
            self._say("+JOIN: Joined already")
        elif self.join_fails:
            self._say("+JOIN: Start", "+JOIN: NORMAL", "+JOIN: Join failed", "+JOIN: Done")
        else:
            self.joined = True
            self._say(
                "+JOIN: Start",
                "+JOIN: NORMAL",
                "+JOIN: Network joined",
                "+JOIN: NetID 000013 DevAddr 26:01:5F:66",
                "+JOIN: Done",
            )

    # -- RAK3172 (RUI3) -------------------------------------------------------------------

    def _answer_rak(self, cmd: str) -> None:
        if cmd == "AT":
            self._say("OK")
        elif cmd.startswith("AT+CFM="):
            self._confirmed = cmd.endswith("1")
            self._say("OK")
        elif cmd == "AT+NJS=?":
            self._say(f"AT+NJS={int(self.joined)}", "OK")
        elif cmd.startswith("AT+SEND="):
            self._send_rak(cmd)
        elif cmd.startswith("AT+JOIN="):
            self._join_rak(int(cmd.rsplit(":", 1)[1]))
        elif cmd.startswith("AT+LPM="):
            self.lpm = cmd.endswith("1")
            self._say("OK")
        elif cmd.startswith(("AT+TIMEREQ", "AT+LTIME")) and not self.old_firmware:
            self._time_rak(cmd)
        else:
            self._say("AT_COMMAND_NOT_FOUND")

    def _time_rak(self, cmd: str) -> None:
        if cmd in ("AT+TIMEREQ=0", "AT+TIMEREQ=1"):
            self.time_asked = cmd.endswith("1")
            self._say("OK")
        elif cmd == "AT+TIMEREQ=?":
            self._say(f"AT+TIMEREQ={int(self.time_asked)}", "OK")
        elif cmd == "AT+LTIME=?" and not self.joined:
            self._say("AT_NO_NETWORK_JOINED")
        elif cmd == "AT+LTIME=?":  # service_lora_get_local_time: SysTime - 18, month first
            shown = time.strftime("%Hh%Mm%Ss on %m/%d/%Y", time.gmtime(self._modem_s() - LEAP_S))
            self._say("LTIME:" + shown, "OK")
        else:
            self._say("AT_PARAM_ERROR")

    def _network_answers_time(self) -> bool:
        """The uplink going out carries DeviceTimeReq: the network answers with GPS seconds
        and the modem sets its clock from them (the E5 to UTC, RUI3 to GPS + the epoch)."""
        if not self.time_asked:
            return False
        self.time_asked = False
        if self.utc is None:
            return False
        gps = int(self.utc()) - GPS_EPOCH_UNIX + LEAP_S
        modem = gps + GPS_EPOCH_UNIX - (LEAP_S if self.kind == "lora-e5" else 0)
        self._clock_base = modem - time.monotonic()
        self.time_answered += 1
        return True

    def _modem_s(self) -> int:
        return int(self._clock_base + time.monotonic())

    def _send_rak(self, cmd: str) -> None:
        port, hexdata = cmd.split("=", 1)[1].split(":")
        if self.fail:
            self._say(self.fail)
        elif not self.joined:
            self._say("AT_NO_NETWORK_JOINED")
        else:
            self.sent.append((int(port), bytes.fromhex(hexdata)))
            self._say("OK")
            time.sleep(0.02)  # the radio transmits, then the event arrives
            asked = self.time_asked
            answered = self._network_answers_time()
            self._say("+EVT:SEND_CONFIRMED_OK" if self._confirmed else "+EVT:TX_DONE")
            if asked:  # RUI3: MlmeConfirm(DEVICE_TIME) after McpsConfirm
                self._say("+EVT:TIMEREQ_OK" if answered else "+EVT:TIMEREQ_FAILED")

    def _join_rak(self, attempts: int) -> None:
        self._say("OK")
        for _ in range(max(attempts, 1)):
            self.joins += 1
            time.sleep(0.02)
            if not self.join_fails:
                self.joined = True
                self._say("+EVT:JOINED")
                return
            self._say("+EVT:JOIN_FAILED_RX_TIMEOUT")


class ModemUart:
    """The MCU's modem UART (``write``/``any``/``read``, as machine.UART) over pyserial."""

    def __init__(self, path: str) -> None:
        self.port = serial.Serial(path, 9600, timeout=0)

    def write(self, data: bytes) -> int:
        return self.port.write(data) or 0

    def any(self) -> int:
        return self.port.in_waiting

    def read(self, n: int) -> bytes:
        return self.port.read(n)
