"""LoRaWAN network time (trapfw.lw_time) through the radio and the App, over the fake modems
that answer as the LoRa-E5 and RUI3 manuals say (tests/firmware/fakemodem.py). Portable: also
runs under the MicroPython VM."""

from fakemodem import FakeModem
from fwkit import HIT, FakeHw, FakePi, cfg

from trapfw import app, fsm, link, lw_time, payload, radio, state

TRUE_UTC = 1795500000  # 2026-11-24T06:00:00Z at clock 0: the network server's clock
KINDS = ("lora-e5", "rak3172")


class Clock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        return self.t

    def utc(self):
        return TRUE_UTC + self.t // 1000


def _radio(kind, **fake):
    clock = Clock()
    modem = FakeModem(kind, clock=clock, utc=clock.utc)
    for key in fake:
        setattr(modem, key, fake[key])
    r = radio.LoraRadio(modem, cfg(modem=kind), 0, configure=False)
    r.driver.log = lambda line: None
    return r, modem, clock


def _take(r):
    """What the app takes from the radio (trapfw.app._pump_radio): the time, once."""
    got, r.net_time = r.net_time, None
    return got


def _run(r, clock, until_ms):
    done = []
    while clock.t < until_ms:
        done += r.poll(clock.t, 3900)
        times = [clock.t + 100]
        for t in (r.next_wake(clock.t), r.uart.next_due()):
            if t is not None:
                times.append(t)
        clock.t = min(max(clock.t + 1, min(times)), until_ms)
    return done


def test_the_conversions_gps_seconds_and_the_modems_date_formats():
    assert lw_time.gps_to_unix(0, 0) == 315964800  # the GPS epoch, 1980-01-06
    assert lw_time.gps_to_unix(1416000000) == 1731964782  # 18 leap seconds since 2017
    assert lw_time.unix_to_gps(lw_time.gps_to_unix(1400000000)) == 1400000000
    assert lw_time.civil_to_unix(2024, 2, 29, 23, 59, 59) == 1709251199
    assert lw_time.civil_to_unix(2023, 2, 29, 0, 0, 0) is None  # no such day
    assert lw_time.parse_e5_rtc("2026-11-24 06:00:00") == TRUE_UTC
    assert lw_time.parse_e5_rtc(" 2026-11-24 06:00:00.465") == TRUE_UTC
    assert lw_time.parse_e5_rtc("2026-11-24") is None
    assert lw_time.parse_rak_ltime("LTIME:06h00m00s on 11/24/2026") == TRUE_UTC
    assert lw_time.parse_rak_ltime("LTIME: 04h36m00s on 11/27/2023") == 1701059760  # manual
    assert lw_time.parse_rak_ltime("AT+LTIME=06h00m00s on 11/24/2026") == TRUE_UTC
    assert lw_time.parse_rak_ltime("LTIME:07h20m00s on 24/11/2026") is None  # month 24
    assert lw_time.parse_rak_ltime("LTIME: 00h37m58s 2018-11-14") is None


def test_the_time_request_rides_on_the_next_uplink_and_the_answer_sets_the_time():
    for kind in KINDS:
        r, modem, clock = _radio(kind)
        r.time_want = True
        r.offer_hit(0, HIT, 0)
        assert _run(r, clock, 60_000) == [HIT], kind
        got = _take(r)
        assert got is not None, (kind, modem.commands)
        unix, doubt = got
        # the modem's clock was set at the downlink and read a moment later
        assert 0 <= unix - (TRUE_UTC + modem.sent[0][0] // 1000) <= 3, kind
        assert doubt == lw_time.DOUBT_S and _take(r) is None, kind
        ask = "AT+LW=DTR" if kind == "lora-e5" else "AT+TIMEREQ=1"
        send = "AT+MSGHEX=" if kind == "lora-e5" else "AT+SEND="
        read = "AT+RTC" if kind == "lora-e5" else "AT+LTIME=?"
        order = [c for c in modem.commands if c in (ask, read) or c.startswith(send)]
        assert [c.split("=")[0] for c in order] == [c.split("=")[0] for c in (ask, send, read)], (
            kind,
            modem.commands,
        )
        assert len(modem.sent) == 1 and modem.time_answered == 1, kind  # no extra uplink
        assert modem.asleep and not r.busy(), kind


def test_a_network_that_does_not_answer_sets_nothing_and_the_modems_own_clock_is_ignored():
    for kind in KINDS:
        r, modem, clock = _radio(kind, time_answers=False)
        r.time_want = True
        r.offer_hit(0, HIT, 0)
        assert _run(r, clock, 60_000) == [HIT], kind
        assert _take(r) is None and r.time_step == 0, kind  # read, but not taken
        assert any(c in ("AT+RTC", "AT+LTIME=?") for c in modem.commands), kind


def test_a_modem_without_the_time_commands_still_sends_the_hit():
    for kind in KINDS:
        r, modem, clock = _radio(kind, old_firmware=True)
        r.time_want = True
        r.offer_hit(0, HIT, 0)
        assert _run(r, clock, 60_000) == [HIT], kind
        assert _take(r) is None and len(modem.sent) == 1, kind


def _app(kind, clock_t0=0):
    hw = FakeHw()
    clock = Clock()
    hw_now = lambda: hw.t  # noqa: E731
    modem = FakeModem(kind, clock=hw_now, utc=lambda: TRUE_UTC + hw.t // 1000)
    settings = cfg(modem=kind, mode="power-gated", lockout_s=0)

    def build():
        r = radio.LoraRadio(modem, settings, hw.t, configure=False)
        r.driver.log = lambda line: None
        return r

    fw = app.App(hw, settings, state.Ring(state.MemSlots()), app.LazyRadio(build))
    fw.start(0, "cold")
    return fw, hw, modem, clock


def _loop(fw, hw, modem, until_ms, pi=None):
    while hw.t < until_ms:
        fw.poll(hw.t)
        if pi is not None:
            pi.exchange(hw.t)
        nxt = [fw.next_wake(hw.t), hw.t + 50]
        due = modem.next_due(hw.t)
        if due is not None:
            nxt.append(due)
        hw.t = min(max(hw.t + 1, min(nxt)), until_ms)


def test_a_hit_with_the_clock_unset_brings_the_network_time_and_the_pi_hears_it_as_network():
    for kind in KINDS:
        fw, hw, modem, _ = _app(kind)
        assert fsm.clock_now(fw.state, hw.t) is None
        fw.dispatch(("hit", HIT), 1000)  # a hit the Pi handed over (queued, to go out)
        _loop(fw, hw, modem, 60_000)
        told = fsm.clock_now(fw.state, hw.t)
        assert told is not None, (kind, modem.commands)
        assert abs(told[0] - (TRUE_UTC + hw.t // 1000)) <= 3, kind
        assert fw.state.time_src == link.TIME_SRC_NETWORK, kind
        # the next boot of the Pi: HELLO -> TIME from the MCU with the network as its source
        pi = FakePi(hw)
        pi.send(link.HELLO, link.hello_body(link.ROLE_PI, "pi"), hw.t)
        _loop(fw, hw, modem, hw.t + 2000, pi)
        times = [link.parse_time_full(m.body) for m in pi.got if m.mtype == link.TIME]
        assert len(times) == 1 and times[0][2] == link.TIME_SRC_NETWORK, kind
        assert times[0][1] is not None and times[0][1] <= 10, kind
        # the clock is known now: a second hit does not ask again
        asked = modem.time_answered
        fw.dispatch(("hit", payload.encode_hit(9, 1, 0.9, 3, 4, 3700, 1)), hw.t)
        _loop(fw, hw, modem, hw.t + 400_000)
        assert modem.time_answered == asked and len(modem.sent) == 2, kind


def test_an_unset_clock_asks_on_hits_at_most_every_six_hours():
    fw, hw, modem, _ = _app("lora-e5")
    modem.time_answers = False  # the network never answers: the clock stays unset
    fw.dispatch(("hit", HIT), 1000)
    _loop(fw, hw, modem, 60_000)
    fw.dispatch(("hit", payload.encode_hit(9, 1, 0.9, 3, 4, 3700, 1)), hw.t)
    _loop(fw, hw, modem, hw.t + 400_000)
    asks = [c for c in modem.commands if c == "AT+LW=DTR"]
    assert len(modem.sent) == 2 and len(asks) == 1  # the second hit went without a request
    assert fw.state.time_asked == 1000 or fw.state.time_asked > 0
