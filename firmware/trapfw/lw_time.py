"""LoRaWAN network time (DeviceTimeReq) for the MCU's clock; loaded only to ask and to read.

The request is a MAC command that rides on an uplink the unit sends anyway (the heartbeat, or a
hit while the clock is unset); the network answers DeviceTimeAns in that uplink's downlink
window, and the modem sets its own clock from it. Then the MCU reads the modem's clock. Per
modem (docs/lora.md, "Network time", cites the manuals):

* LoRa-E5: ``AT+LW=DTR`` answers ``+LW: DTR`` and buffers DeviceTimeReq for the next
  ``AT+MSGHEX``; a downlink in that exchange shows as ``+MSGHEX: RXWIN1, RSSI ..``; then
  ``AT+RTC`` answers ``+RTC: YYYY-MM-DD hh:mm:ss`` (UTC). Without a downlink window the network
  did not answer and the modem's clock is not taken.
* RAK3172 (RUI3): ``AT+TIMEREQ=1`` answers ``OK``; after the uplink the modem prints
  ``+EVT:TIMEREQ_OK`` (or ``+EVT:TIMEREQ_FAILED``); then ``AT+LTIME=?`` answers
  ``LTIME:hhHmmMssS on MM/DD/YYYY`` and ``OK`` (UTC: RUI3 takes the 18 leap seconds off the
  GPS time itself).

DeviceTimeAns carries GPS seconds (since 1980-01-06, no leap seconds); both modems hand out UTC.
`gps_to_unix` is the conversion (18 s of leap seconds since 2017-01-01), used to check the
modems' answers in the tests. The result: ``radio.net_time = (unix_s, doubt_s)`` for the
state machine ("time" event, source network).
"""

from trapfw import atmodem as at

GPS_EPOCH_UNIX = 315964800  # 1980-01-06T00:00:00Z
GPS_UTC_LEAP_S = 18  # GPS - UTC since 2017-01-01 (IERS; none announced since)
DOUBT_S = 2  # the modems give whole seconds, plus the UART and the network's own error
EARLIEST_UNIX = 1735689600  # 2025-01-01: a modem clock before it was never set (= fsm's)
_WAIT, _DONE = 0, 1  # = atmodem.WAIT / atmodem.DONE


def gps_to_unix(gps_s, leap_s=GPS_UTC_LEAP_S):
    """GPS seconds (DeviceTimeAns) -> Unix seconds (UTC).

    >>> gps_to_unix(1416000000)  # 2024-11-18T21:19:42Z
    1731964782
    """
    return gps_s + GPS_EPOCH_UNIX - leap_s


def unix_to_gps(unix_s, leap_s=GPS_UTC_LEAP_S):
    return unix_s - GPS_EPOCH_UNIX + leap_s


def civil_to_unix(year, month, day, hour, minute, second):
    """A UTC date and time -> Unix seconds; None when a field is out of range."""
    if not (1970 <= year <= 2105 and 1 <= month <= 12 and 1 <= day <= _month_days(year, month)):
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59):
        return None
    y = year - (1 if month <= 2 else 0)  # days from civil (H. Hinnant), March-based years
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second


def _month_days(year, month):
    if month == 2:
        return 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _ints(text, seps):
    """``"2026-11-24 10:20:30"`` with seps ``"- ::"`` -> [2026, 11, 24, 10, 20, 30] or None."""
    out, cur = [], ""
    for ch in text + seps[-1]:
        if "0" <= ch <= "9":
            cur += ch
            continue
        if not cur or not seps or ch != seps[0]:
            return None
        out.append(int(cur))
        cur, seps = "", seps[1:]
    return out if not seps else None


def parse_e5_rtc(value):
    """The value of ``+RTC: 2026-11-24 10:20:30`` (optionally ``.123`` ms) -> Unix s or None."""
    value = value.strip()
    dot = value.find(".")
    if dot > 0:
        value = value[:dot]
    f = _ints(value, "-- ::.")
    return None if f is None else civil_to_unix(f[0], f[1], f[2], f[3], f[4], f[5])


def parse_rak_ltime(line):
    """``LTIME:04h36m00s on 11/27/2023`` (or ``AT+LTIME=...``) -> Unix s or None."""
    for prefix in ("LTIME:", "AT+LTIME="):
        if line.startswith(prefix):
            line = line[len(prefix) :].strip()
            break
    else:
        return None
    hms, sep, date = line.partition(" on ")
    if not sep or not hms.endswith("s"):
        return None
    t = _ints(hms[:-1], "hm.")
    d = _ints(date.strip(), "//.")
    if t is None or d is None:
        return None
    return civil_to_unix(d[2], d[0], d[1], t[0], t[1], t[2])


# -- radio glue (trapfw.radio calls these through _call: the module leaves the heap again)


def step(radio, now):
    """Start the next time operation: read after the carrying uplink, else ask."""
    drv = radio.driver
    drv.net_unix = None
    if radio.time_step == 2:
        steps, what = _read_steps(drv), "time_read"
    else:
        radio.time_want = False
        steps, what = _ask_steps(drv), "time_ask"
    radio.op = ("time", None)
    drv._start(what, steps, now, 5.0)


def sent(radio, result):
    """The uplink that carried the request went out: read the modem's clock next."""
    radio.time_step = 2
    radio.time_rx = result.downlink is not None  # LoRa-E5: a downlink window was opened


def done(radio, now, result):
    """A time operation ended: after the ask, wait for an uplink; after the read, the time."""
    drv = radio.driver
    if result.op == "time_ask":
        radio.time_step = 1 if result.ok else 0
        if not result.ok:
            drv.log("time: request refused: " + result.reason)
        return
    radio.time_step = 0
    unix = drv.net_unix
    answered = drv.time_evt == "OK" if drv.name == "rak3172" else radio.time_rx
    if result.ok and answered and unix is not None and unix >= EARLIEST_UNIX:
        radio.net_time = (unix, DOUBT_S)
        drv.log("time: network time " + str(unix))
    else:
        drv.log("time: no network time (" + result.reason + ", answered " + str(answered) + ")")
    drv.time_evt = None


def _ask_steps(drv):
    # the drivers' own step handlers: while the carrying uplink waits (duty cycle, budget),
    # nothing on the heap refers to this module
    if drv.name == "rak3172":
        drv.time_evt = None
        return [drv._status_step("AT+TIMEREQ=1")]
    return [drv._echo_step("AT+LW=DTR", "LW")]  # "+LW: DTR"; "+LW: ERROR(n)" fails


def _read_steps(drv):
    if drv.name == "rak3172":
        return [("AT+LTIME=?", lambda line: _rak_ltime_line(drv, line))]

    def handle(line):
        value, fail = drv._reply("RTC", line)
        if fail is not None:
            return fail
        drv.net_unix = parse_e5_rtc(value)
        return _DONE if drv.net_unix is not None else at.UNKNOWN_REPLY

    return [("AT+RTC", handle)]


def _rak_ltime_line(drv, line):
    from trapfw.atmodem_rak import RAK_STATUS

    if line.startswith("+EVT:TIMEREQ_"):
        drv.time_evt = line[13:]  # the answer may come after the uplink's TX_DONE
        return _WAIT
    if line.startswith("LTIME") or line.startswith("AT+LTIME="):
        drv.net_unix = parse_rak_ltime(line)
        return _WAIT if drv.net_unix is not None else at.UNKNOWN_REPLY
    if line in RAK_STATUS:
        fail = RAK_STATUS[line]
        if fail is None:
            return _DONE if drv.net_unix is not None else at.UNKNOWN_REPLY
        return fail
    return at.UNKNOWN_REPLY
