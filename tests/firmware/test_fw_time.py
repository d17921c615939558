"""The MCU carries the time between the Pi's boots and tells it at HELLO (portable: CPython
and the MicroPython VM)."""

from fwkit import booted, sends

from trapfw import fsm, link, state

REAL = 1795500000  # 2026-11-24


def _told(actions):
    times = sends(actions, link.TIME)
    return [link.parse_time_full(body) for _, _, body in times]


def test_an_mcu_that_never_learnt_the_time_tells_the_pi_nothing():
    s = booted()
    s, acts = fsm.step(s, ("hello", (1, link.ROLE_PI, "pi")), 2000)
    assert sends(acts, link.HELLO) and _told(acts) == []


def test_the_network_time_is_carried_and_sent_at_hello_with_a_growing_doubt():
    s = booted()
    s, acts = fsm.step(s, ("time", (REAL, 2, link.TIME_SRC_NETWORK)), 10_000)
    assert acts == [("save",)]  # the carried time is persisted
    _, acts = fsm.step(s, ("hello", (1, link.ROLE_PI, "pi")), 20_000)
    assert _told(acts) == [(REAL + 10, 3, link.TIME_SRC_NETWORK)]  # it says where it came from
    _, acts = fsm.step(s, ("hello", (1, link.ROLE_PI, "pi")), 10_000 + 6 * 3600 * 1000)
    ((unix, doubt, _),) = _told(acts)
    assert unix == REAL + 6 * 3600
    assert doubt == 3 + 6 * 3600 * fsm.CLOCK_PPM // 1000000  # 2 % of 6 h: 432 s more


def test_the_pis_own_ntp_time_comes_back_as_carried_and_the_source_survives_a_reset():
    s = booted()
    s, _ = fsm.step(s, ("time", (REAL, 1, link.TIME_SRC_NTP)), 10_000)
    _, acts = fsm.step(s, ("hello", (1, link.ROLE_PI, "pi")), 11_000)
    assert [t[2] for t in _told(acts)] == [link.TIME_SRC_CARRIED]  # not "the Pi's NTP"
    s, _ = fsm.step(s, ("time", (REAL + 5, 1, link.TIME_SRC_RTC)), 12_000)
    saved = state.decode(state.encode(3, s.persistent()))[1]
    woke, _ = fsm.step(fsm.restore(s.cfg, saved), ("boot", "wake"), 20_000)
    _, acts = fsm.step(woke, ("hello", (1, link.ROLE_PI, "pi")), 20_000)
    assert [t[2] for t in _told(acts)] == [link.TIME_SRC_RTC]


def test_an_unset_or_less_sure_time_does_not_replace_the_carried_one():
    s = booted()
    s, _ = fsm.step(s, ("time", (42, 1, link.TIME_SRC_NTP)), 5000)  # a Pi at 1970
    assert fsm.clock_now(s, 5000) is None
    s, _ = fsm.step(s, ("time", (REAL, 1, link.TIME_SRC_NTP)), 5000)
    s2, _ = fsm.step(s, ("time", (REAL + 999, 3600, link.TIME_SRC_CARRIED)), 6000)
    assert fsm.clock_now(s2, 6000) == (REAL + 1, 2)  # the vaguer one was ignored
    s3, _ = fsm.step(s, ("time", (REAL + 100, None, link.TIME_SRC_RTC)), 6000)
    assert fsm.clock_now(s3, 6000) == (REAL + 100, 2)  # no doubt given: 1 s


def test_time_bodies_round_trip_and_old_4_byte_bodies_still_read():
    assert link.parse_time_full(link.time_body(REAL, None, link.TIME_SRC_RTC)) == (
        REAL,
        None,
        link.TIME_SRC_RTC,
    )
    assert link.parse_time_full(link.time_body(REAL, 10**9)) == (REAL, 0xFFFE, link.TIME_SRC_NTP)
    assert link.parse_time_full(bytes(link.time_body(REAL)[:4])) == (REAL, None, link.TIME_SRC_NTP)
    assert link.body_error(link.TIME, bytes(5)) == "time of 5 bytes: want 4 or 7"
    assert link.body_error(link.TIME, bytes(6) + bytes((9,))) == "time source 9 unknown"


def test_the_carried_time_and_its_doubt_survive_in_the_state_record():
    s = booted()
    s, _ = fsm.step(s, ("time", (REAL, 2, link.TIME_SRC_NETWORK)), 10_000)
    counter, saved = state.decode(state.encode(7, s.persistent()))
    assert counter == 7
    assert (saved["time_offset"], saved["time_doubt"], saved["time_set"]) == (REAL - 10, 2, 10)
    woke = fsm.restore(s.cfg, saved)
    woke, _ = fsm.step(woke, ("boot", "wake"), 3_600_000)  # deep sleep: the RTC clock ran on
    expect = (REAL + 3600 - 10, 2 + 1 + 3590 * fsm.CLOCK_PPM // 1000000)
    assert fsm.clock_now(woke, 3_600_000) == expect
    never = booted()
    assert state.decode(state.encode(1, never.persistent()))[1]["time_offset"] is None
