"""A LoRaWAN AT modem at the other end of the MCU's modem UART, answering as its manual says.

Portable (CPython and the MicroPython VM), on a clock the test drives (``clock() -> ms``):
replies come out when they are due, as from a real modem that transmits and waits for its
receive windows. ``kind`` is "lora-e5" (Seeed LoRa-E5 AT Command Specification V1.0) or
"rak3172" (RUI3 AT Command Manual, and RUI3's ``service_lora.c`` for the join events)::

    modem = FakeModem("lora-e5", clock=lambda: hw.t, coverage=False)
    radio = LoraRadio(modem, cfg, 0)          # the modem is the UART: write / any / read
    modem.sent, modem.join_attempts, modem.asleep

* LoRa-E5: ``AT+LOWPOWER`` -> ``+LOWPOWER: SLEEP``, then the modem sleeps; the characters that
  wake it are lost and it answers ``+LOWPOWER: WAKEUP``.
* RAK3172: ``AT+LPM=1`` turns on automatic low power: asleep whenever nothing is in flight,
  woken by UART input (nothing is lost). ``AT+JOIN=1:0:<s>:<n>`` answers ``OK`` and makes up to
  n attempts <s> seconds apart, each failure printing ``+EVT:JOIN_FAILED_RX_TIMEOUT``; anything
  sent meanwhile gets ``AT_BUSY_ERROR``. The duty-cycle status is ``AT_DUTYCYLE_RESTRICTED``.
* ``coverage``: a gateway hears it (joins succeed; sends are always "done": unconfirmed).
  ``mute``: a hung modem that answers nothing until ``reset()`` (its reset pin).
* Network time: ``utc`` (a callable, true Unix seconds now) is the network server's clock; it
  answers DeviceTimeReq in the carrying uplink's RX1 with GPS seconds, and the modem sets its
  clock the way its firmware does (docs/lora.md, "Network time"). LoRa-E5: ``AT+LW=DTR`` ->
  ``+LW: DTR``; the next ``AT+MSGHEX`` shows ``+MSGHEX: RXWIN1, RSSI -37, SNR 8.0`` before
  ``Done``; ``AT+RTC`` -> ``+RTC: YYYY-MM-DD hh:mm:ss`` (its STM32 calendar starts at
  2000-01-01 before any answer). RAK3172: ``AT+TIMEREQ=1`` -> ``OK`` (``=2`` ->
  ``AT_PARAM_ERROR``); after the uplink's ``+EVT:TX_DONE``, ``+EVT:TIMEREQ_OK`` (or
  ``_FAILED`` when the network stays silent: ``time_answers=False``); ``AT+LTIME=?`` ->
  ``LTIME:hhHmmMssS on MM/DD/YYYY`` and ``OK`` (RUI3's SysTime, GPS-based, minus its 18 leap
  seconds; ``AT_NO_NETWORK_JOINED`` before a join). ``old_firmware``: no time commands
  (LoRa-E5 ``+LW: ERROR(-1)``... as for any unknown command, RAK ``AT_COMMAND_NOT_FOUND``).
"""

GPS_EPOCH_UNIX = 315964800  # 1980-01-06T00:00:00Z
LEAP_S = 18  # GPS - UTC since 2017
E5_RTC_START = 946684800  # 2000-01-01T00:00:00Z, the STM32 RTC calendar's reset value

REPLY_MS = 10  # a reply line on the wire (9600 baud: ~1 ms a character)
TX_MS = 2000  # transmit and receive windows of an unconfirmed uplink
JOIN_MS = 6000  # join request and the join-accept windows (5 s and 6 s)


class FakeModem:
    def __init__(
        self, kind="lora-e5", clock=None, coverage=True, joined=True, mute=False, utc=None
    ):
        self.kind = kind
        self.clock = clock or (lambda: 0)
        self.coverage, self.joined, self.mute = coverage, joined, mute
        self.utc = utc  # the network server's clock (None: it never answers DeviceTimeReq)
        self.time_answers = True
        self.old_firmware = False
        self.time_asked = False  # a DeviceTimeReq waits for the next uplink
        self.time_answered = 0  # DeviceTimeAns frames the network sent
        # the modem's own clock: seconds at clock() == 0 (E5 calendar, RUI3 SysTime from 0)
        self.clock_base = E5_RTC_START if kind == "lora-e5" else 0
        self.fail = None  # a reply to every send instead of sending (a documented failure)
        self.asleep_e5 = False
        self.lpm = False
        self._rx = b""
        self._out = []  # [(due_ms, line)]
        self._ready = b""
        self.busy_until = 0
        self.sent = []  # [(t_ms, fport, bytes)]
        self.commands = []
        self.join_attempts = []  # t_ms of every join request transmitted
        self.resets = 0
        self._port = 8
        self._confirmed = False

    # -- the UART surface the MCU sees ------------------------------------------------

    def write(self, data):
        if self.kind == "lora-e5" and self.asleep_e5 and not self.mute:
            self.asleep_e5 = False  # the waking characters are not a command (but logged)
            self.commands.append(bytes(data).strip().decode())
            self._say(0, "+LOWPOWER: WAKEUP")
            return len(data)
        self._rx += bytes(data)
        while b"\n" in self._rx:
            line, self._rx = self._rx.split(b"\n", 1)
            text = line.strip().decode()
            if text:
                self.commands.append(text)
                if not self.mute:
                    self._answer(text)
        return len(data)

    def any(self):
        self._collect()
        return len(self._ready)

    def read(self, n=-1):
        self._collect()
        n = len(self._ready) if n is None or n < 0 else n
        data, self._ready = self._ready[:n], self._ready[n:]
        return data or None

    def reset(self):
        """The reset pin: the modem reboots awake and answering; what was in flight is gone."""
        self.resets += 1
        self.mute = False
        self.asleep_e5 = False
        self._out = []
        self._rx = b""
        self.busy_until = 0

    def next_due(self, after=-1):
        """When the next reply line reaches the UART after ``after`` (None: nothing on the
        way): RX wakes the board."""
        due = [x[0] for x in self._out if x[0] > after]
        return min(due) if due else None

    @property
    def asleep(self):
        """In its low-power mode (what the manuals promise for the sleep current)."""
        if self.kind == "lora-e5":
            return self.asleep_e5
        return self.lpm and self.clock() >= self.busy_until and not self._out

    # -- internals ----------------------------------------------------------------------

    def _say(self, delay_ms, *lines):
        due = self.clock() + max(delay_ms, REPLY_MS)
        for line in lines:
            self._out.append((due, line))

    def _collect(self):
        now = self.clock()
        due = [x for x in self._out if x[0] <= now]
        self._out = [x for x in self._out if x[0] > now]
        for _, line in due:
            self._ready += line.encode() + b"\r\n"

    def _answer(self, cmd):
        if self.kind == "lora-e5":
            self._answer_e5(cmd)
        else:
            self._answer_rak(cmd)

    # -- Seeed LoRa-E5 ------------------------------------------------------------------

    def _answer_e5(self, cmd):
        name = cmd[3:].split("=", 1)[0] if cmd.startswith("AT+") else "AT"
        value = cmd.split("=", 1)[1] if "=" in cmd else ""
        if cmd == "AT":
            self._say(0, "+AT: OK")
        elif name in ("MODE", "DR", "ADR", "CLASS", "PORT", "CH"):
            if name == "PORT":
                self._port = int(value)
            shown = "NUM, " + value[4:] if name == "CH" else value
            shown = "DR" + value if name == "DR" and value.isdigit() else shown
            self._say(0, f"+{name}: {shown}")
        elif name in ("ID", "KEY"):
            self._say(0, f"+{name}: {value.split(',')[0]}, ok")
        elif name in ("MSGHEX", "CMSGHEX"):
            self._msg_e5(name, value.strip('"'))
        elif name == "JOIN":
            self._join_e5()
        elif name == "LOWPOWER":
            self._say(0, "+LOWPOWER: SLEEP")
            self.asleep_e5 = True
        elif name == "LW" and value == "DTR" and not self.old_firmware:
            self.time_asked = True
            self._say(0, "+LW: DTR")
        elif name == "RTC" and not value and not self.old_firmware:
            self._say(0, "+RTC: " + _ymd_hms(self._modem_s()))
        else:
            self._say(0, f"+{name}: ERROR(-10)")

    def _msg_e5(self, name, hexdata):
        if self.clock() < self.busy_until:
            self._say(0, f"+{name}: LoRaWAN modem is busy")
        elif self.fail:
            self._say(0, f"+{name}: {self.fail}")
        elif not self.joined:
            self._say(0, f"+{name}: Please join network first")
        else:
            self.sent.append((self.clock(), self._port, bytes.fromhex(hexdata)))
            self.busy_until = self.clock() + TX_MS
            self._say(0, f"+{name}: Start")
            if self._network_answers_time():  # DeviceTimeAns in RX1
                self._say(TX_MS, f"+{name}: RXWIN1, RSSI -37, SNR 8.0")
            self._say(TX_MS, f"+{name}: Done")

    def _join_e5(self):
        if self.joined:
            self._say(0, "+JOIN: Joined already")
            return
        self.join_attempts.append(self.clock())
        self.busy_until = self.clock() + JOIN_MS
        self._say(0, "+JOIN: Start", "+JOIN: NORMAL")
        if self.coverage:
            self.joined = True
            self._say(JOIN_MS, "+JOIN: Network joined", "+JOIN: NetID 000013 DevAddr 26:01:5F:66")
        else:
            self._say(JOIN_MS, "+JOIN: Join failed")
        self._say(JOIN_MS, "+JOIN: Done")

    # -- RAK3172 (RUI3) -----------------------------------------------------------------

    def _answer_rak(self, cmd):
        busy = self.clock() < self.busy_until
        if cmd == "AT+NJS=?":
            self._say(0, f"AT+NJS={int(self.joined)}", "OK")
        elif cmd.startswith("AT+SEND="):
            self._send_rak(cmd, busy)
        elif cmd.startswith("AT+JOIN="):
            self._join_rak(cmd, busy)
        elif cmd.startswith("AT+LPM="):
            self.lpm = cmd.endswith("1")
            self._say(0, "OK")
        elif cmd.startswith("AT+CFM="):
            self._confirmed = cmd.endswith("1")
            self._say(0, "OK")
        elif cmd.startswith(("AT+TIMEREQ", "AT+LTIME")) and not self.old_firmware:
            self._time_rak(cmd)
        elif cmd == "AT" or cmd.split("=", 1)[0][3:] in _RAK_SETTINGS:
            self._say(0, "OK")
        else:
            self._say(0, "AT_COMMAND_NOT_FOUND")

    def _send_rak(self, cmd, busy):
        port, hexdata = cmd.split("=", 1)[1].split(":")
        if busy:
            self._say(0, "AT_BUSY_ERROR")
        elif self.fail:
            self._say(0, self.fail)
        elif not self.joined:
            self._say(0, "AT_NO_NETWORK_JOINED")
        else:
            self.sent.append((self.clock(), int(port), bytes.fromhex(hexdata)))
            self.busy_until = self.clock() + TX_MS
            self._say(0, "OK")
            asked = self.time_asked
            answered = self._network_answers_time()
            self._say(TX_MS, "+EVT:SEND_CONFIRMED_OK" if self._confirmed else "+EVT:TX_DONE")
            if asked:  # RUI3's MlmeConfirm(DEVICE_TIME) comes after the McpsConfirm
                self._say(TX_MS, "+EVT:TIMEREQ_OK" if answered else "+EVT:TIMEREQ_FAILED")

    def _join_rak(self, cmd, busy):
        if busy:
            self._say(0, "AT_BUSY_ERROR")
            return
        _, _, interval, attempts = (int(x) for x in cmd.split("=", 1)[1].split(":"))
        self._say(0, "OK")
        at = 0
        for i in range(max(attempts, 1)):
            self.join_attempts.append(self.clock() + at)
            at += JOIN_MS
            if self.coverage:
                self.joined = True
                self._say(at, "+EVT:JOINED")
                break
            self._say(at, "+EVT:JOIN_FAILED_RX_TIMEOUT")
            if i < attempts - 1:
                at += interval * 1000
        self.busy_until = self.clock() + at

    def _time_rak(self, cmd):
        if cmd == "AT+TIMEREQ=1":
            self.time_asked = True
            self._say(0, "OK")
        elif cmd == "AT+TIMEREQ=0":
            self.time_asked = False
            self._say(0, "OK")
        elif cmd == "AT+TIMEREQ=?":
            self._say(0, f"AT+TIMEREQ={int(self.time_asked)}", "OK")
        elif cmd == "AT+LTIME=?" and not self.joined:
            self._say(0, "AT_NO_NETWORK_JOINED")
        elif cmd == "AT+LTIME=?":
            self._say(0, "LTIME:" + _rui3_ltime(self._modem_s() - LEAP_S), "OK")
        else:
            self._say(0, "AT_PARAM_ERROR")

    # -- the network's clock ------------------------------------------------------------

    def _network_answers_time(self):
        """The uplink going out now carries DeviceTimeReq: the network answers with GPS
        seconds and the modem sets its clock from them (as its firmware does)."""
        if not self.time_asked:
            return False
        self.time_asked = False
        if self.utc is None or not self.time_answers or not self.coverage:
            return False
        gps = int(self.utc()) - GPS_EPOCH_UNIX + LEAP_S  # what DeviceTimeAns carries
        self.time_answered += 1
        # the E5 keeps its RTC calendar in UTC; LoRaMac's SysTime (RUI3) is GPS seconds plus
        # the GPS epoch, the leap seconds come off when it is printed
        modem = gps + GPS_EPOCH_UNIX - (LEAP_S if self.kind == "lora-e5" else 0)
        self.clock_base = modem - self.clock() // 1000
        return True

    def _modem_s(self):
        return self.clock_base + self.clock() // 1000


def _civil(unix_s):
    days, rest = divmod(int(unix_s), 86400)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day, rest // 3600, rest // 60 % 60, rest % 60


def _ymd_hms(unix_s):
    y, mo, d, h, mi, s = _civil(unix_s)
    return f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}"


def _rui3_ltime(unix_s):
    """RUI3 service_lora_get_local_time: "%02dh%02dm%02ds on %02d/%02d/%04d" (month first)."""
    y, mo, d, h, mi, s = _civil(unix_s)
    return f"{h:02d}h{mi:02d}m{s:02d}s on {mo:02d}/{d:02d}/{y:04d}"


_RAK_SETTINGS = ("NJM", "BAND", "MASK", "DR", "ADR", "DEVEUI", "APPEUI", "APPKEY", "CLASS")
