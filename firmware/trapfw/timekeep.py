"""The MCU clock's sources beyond the Pi: when to ask the network, and the RTC chip.

Loaded by ``trapfw.app`` only when it may act: a heartbeat, a hit while the clock is unset,
a wake with an RTC chip configured (``rtc = "ds3231"``), a new time to write to the chip.

* Network time (``lora_time``, on by default): asked at a heartbeat when the clock is unset or
  less sure than TIME_WANT_DOUBT_S (the ESP32's RC clock drifts ~2 %, ~29 min a day, so in
  practice once a day), and on a hit while the clock is unset, at most every TIME_ASK_MS: each
  answer is a downlink (TTN's fair use: 10 a day). The request rides on that uplink
  (``trapfw.lw_time``).
* RTC chip: read at every wake (``trapfw.rtc_ds3231``), its doubt growing 5 ppm from the
  time this unit set it (``rtc_set`` in the state record); set again whenever the state
  machine takes a time from the Pi or the network.
"""

import trapfw
from trapfw import fsm, link

TIME_WANT_DOUBT_S = 60
TIME_ASK_MS = 6 * 3600 * 1000


def set_time(app, value, now):
    """A time source spoke (the Pi, the network, the RTC chip): the state machine decides;
    a time it took sets the RTC chip too."""
    st = app.state
    before = (st.time_offset, st.time_set, st.time_doubt)
    app.dispatch(("time", value), now)
    st = app.state
    taken = (st.time_offset, st.time_set, st.time_doubt) != before
    if taken and app.cfg.rtc != "none" and value[2] != link.TIME_SRC_RTC:
        rtc_write(app, now)


def want(app, now, heartbeat):
    """Ask the network for the time on the next uplink, when the policy above says so."""
    get = getattr(app.radio, "_get", None)  # a LazyRadio: it builds the LoRa radio
    if get is None:
        return False  # no modem (NullRadio)
    told = fsm.clock_now(app.state, now)
    if told is not None and (told[1] <= TIME_WANT_DOUBT_S or not heartbeat):
        return False
    asked = app.state.time_asked
    if not heartbeat and asked and 0 <= now - asked < TIME_ASK_MS:
        return False
    app.state = app.state.replace(time_asked=now or 1)  # saved with the hit or heartbeat
    get().time_want = True
    return True


def rtc_read(app, now):
    """The chip's time into the state machine (source RTC), unless it is invalid."""
    from trapfw import rtc_ds3231

    try:
        unix = _bus_call(app, now, rtc_ds3231.read)
        if not unix:
            app.hw.log("rtc: no valid time (oscillator stopped, or not set)")
            return None
        doubt = rtc_ds3231.doubt(unix, app.state.rtc_set)
    finally:
        trapfw.unload("rtc_ds3231")
    if doubt is None:
        app.hw.log("rtc: a time this unit never set: not taken")
        return None
    set_time(app, (unix, doubt, link.TIME_SRC_RTC), now)
    return unix


def rtc_write(app, now):
    """The state machine's clock into the chip (after it took a time from a better source)."""
    from trapfw import rtc_ds3231

    unix = now // 1000 + app.state.time_offset
    try:
        if _bus_call(app, now, rtc_ds3231.write, unix) is False:
            return None
    finally:
        trapfw.unload("rtc_ds3231")
    app.state = app.state.replace(rtc_set=unix)
    app._save(now)
    return unix


def _bus_call(app, now, fn, *args):
    """``fn(bus, *args)``; an I2C error (no chip, a loose wire) is a fault, never a crash."""
    try:
        return fn(app.hw.rtc_bus(), *args)
    except OSError as e:
        app._fault(now, "rtc:" + str(e))
        return False
