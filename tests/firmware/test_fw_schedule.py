"""Activity schedule windows: parsing, wrap past midnight, overlaps, solar time, next edge.

Portable: runs under CPython (pytest) and under the MicroPython VM (test_fw_micropython.py).
"""

from trapfw import schedule


def _error(text):
    try:
        schedule.parse_windows(text)
    except schedule.ScheduleError as e:
        return str(e)
    raise AssertionError(f"no ScheduleError for {text!r}")


def test_windows_parse_sorted_in_minutes_of_the_day():
    assert schedule.parse_windows("17:00-20:00,04:00-07:30") == ((240, 450), (1020, 1200))
    assert schedule.parse_windows("  ") == ()


def test_a_window_may_wrap_past_midnight():
    w = schedule.parse_windows("21:00-02:00")
    assert schedule.minutes_per_day(w) == 300
    assert schedule.in_window(w, 23 * 60) and schedule.in_window(w, 60)
    assert not schedule.in_window(w, 2 * 60)  # the end is out
    assert schedule.in_window(w, 21 * 60)  # the start is in


def test_bad_windows_say_what_is_wrong():
    assert "not HH:MM" in _error("4:00-07:00")
    assert "not a time of day" in _error("04:00-25:00")
    assert "want HH:MM-HH:MM" in _error("04:00")
    assert "the same" in _error("04:00-04:00")
    assert "overlap" in _error("04:00-07:00,06:00-08:00")
    assert "overlap" in _error("22:00-03:00,02:00-04:00")
    assert "at most" in _error(",".join(f"{h:02d}:00-{h:02d}:30" for h in range(7)))
    assert "the same" in _error("00:00-24:00")  # midnight to midnight is no window


def test_solar_time_is_four_minutes_per_degree_east():
    assert schedule.offset_s("solar", 131.9, 0) == 31656  # 8 h 47 min 36 s
    assert schedule.offset_s("solar", -90.0, 0) == -6 * 3600
    assert schedule.offset_s("fixed", 0.0, 600) == 10 * 3600  # Vladivostok, UTC+10
    for args in (("solar", 200.0, 0), ("fixed", 0.0, 900), ("lunar", 0.0, 0)):
        try:
            schedule.offset_s(*args)
        except schedule.ScheduleError:
            continue
        raise AssertionError(f"accepted {args!r}")


def test_armed_follows_local_time_not_utc():
    w = schedule.parse_windows("04:00-07:00")
    off = schedule.offset_s("fixed", 0.0, 600)  # UTC+10: 04:00 local is 18:00 UTC
    assert schedule.is_armed(w, 18 * 3600 + 60, off)
    assert not schedule.is_armed(w, 4 * 3600 + 60, off)
    assert not schedule.is_armed((), 18 * 3600, off)


def test_seconds_to_change_reaches_the_next_edge_either_side_of_midnight():
    w = schedule.parse_windows("04:00-07:00,21:00-02:00")
    assert schedule.seconds_to_change(w, 3 * 3600, 0) == 3600  # 03:00 -> 04:00 start
    assert schedule.seconds_to_change(w, 5 * 3600 + 30, 0) == 2 * 3600 - 30  # -> 07:00 end
    assert schedule.seconds_to_change(w, 23 * 3600, 0) == 3 * 3600  # -> 02:00 end
    assert schedule.seconds_to_change(w, 4 * 3600, 0) == 3 * 3600  # on an edge: the next one
    assert schedule.seconds_to_change((), 0, 0) is None


# -- the state machine with a schedule (power-gated) ----------------------------------------

DAY0 = 1794960000  # a UTC midnight (unix s)


def _scheduled(**over):
    from fwkit import booted

    raw = {"schedule": "on", "schedule_windows": "04:00-07:00", "schedule_clock": "fixed"}
    raw["utc_offset_min"] = 0
    raw.update(over)
    return booted(**raw)


def _at_local(state, now_ms, hhmm_s):
    """Tell the MCU (as the Pi's TIME does) that it is ``hhmm_s`` seconds past midnight now."""
    from trapfw import fsm

    return fsm.step(state, ("time", DAY0 + hhmm_s), now_ms)[0]


def test_without_the_time_the_schedule_never_boots_the_pi():
    from fwkit import powers, run

    s = _scheduled()
    s, acts = run(s, [(("tick", None), 5000), (("tick", None), 3600 * 1000)])
    assert s.name == "sleep" and powers(acts) == []


def test_a_window_boots_arms_triggers_at_once_and_ends_with_a_shutdown():
    from fwkit import powers, run, sends

    from trapfw import fsm, link

    s = _at_local(_scheduled(), 2000, 4 * 3600 + 60)  # 04:01 local
    s, acts = run(s, [(("tick", None), 2100)])
    assert s.name == "booting" and powers(acts) == [1] and s.pending == ()
    s, acts = run(s, [(("ready", None), 9000)])
    assert s.name == "armed" and sends(acts, link.TRIGGER) == []  # up, waiting for a PIR
    s, acts = run(s, [(("pir", None), 60000)])
    assert s.name == "burst" and len(sends(acts, link.TRIGGER)) == 1  # at once, no boot
    seq = s.pending[0]
    s, acts = run(s, [(("result", (seq, 1)), 63000)])
    assert s.name == "armed" and sends(acts, link.SHUTDOWN) == []  # the window is still open
    end = (3 * 3600 - 60) * 1000 + 2000  # 07:00 local on the MCU clock
    assert fsm.next_deadline(s, 64000) <= end
    s, acts = run(s, [(("tick", None), end - 1000)])
    assert s.name == "armed"
    s, acts = run(s, [(("tick", None), end)])
    assert s.name == "shutdown" and len(sends(acts, link.SHUTDOWN)) == 1
    s, acts = run(s, [(("halt", None), end + 4000)])
    assert s.name == "sleep" and powers(acts) == [0]
    s, acts = run(s, [(("tick", None), end + 3600 * 1000)])
    assert s.name == "sleep" and powers(acts) == []  # outside the window: gated as usual


def test_the_mcu_wakes_for_the_next_window_start():
    from trapfw import fsm

    s = _at_local(_scheduled(), 2000, 3 * 3600)  # 03:00 local: the window opens in an hour
    assert fsm.next_deadline(s, 2000) == 2000 + 3600 * 1000
    assert fsm.next_deadline(s) == s.next_heartbeat  # without now: no window edge


def test_below_the_battery_cutoff_the_schedule_keeps_the_pi_off():
    from fwkit import powers, run

    s = _at_local(_scheduled(mv=3100), 2000, 4 * 3600 + 60)
    s, acts = run(s, [(("tick", None), 2100)])
    assert powers(acts) == [] and s.name in ("sleep", "lowbat")


def test_a_pir_outside_the_window_is_a_plain_power_gated_event():
    from fwkit import run, sends

    from trapfw import link

    s = _at_local(_scheduled(), 2000, 12 * 3600)  # noon: no window
    s, _ = run(s, [(("pir", None), 3000), (("ready", None), 9000)])
    assert s.name == "burst"
    s, acts = run(s, [(("result", (s.pending[0], 0)), 12000)])
    assert s.name == "shutdown" and len(sends(acts, link.SHUTDOWN)) == 1


def test_the_wall_clock_offset_survives_a_reset_in_the_state_record():
    from fwkit import cfg

    from trapfw import fsm, state

    s = _at_local(_scheduled(), 2000, 4 * 3600)
    fields = state.decode(state.encode(3, s.persistent()))[1]
    assert fields["time_offset"] == s.time_offset
    assert fsm.restore(cfg(), fields).time_offset == s.time_offset
    fields = state.decode(state.encode(4, fsm.State(cfg()).persistent()))[1]
    assert fields["time_offset"] is None  # not known yet: stays unknown


def test_schedule_settings_are_validated_naming_the_key():
    from trapfw import settings

    for raw, key in (
        ({"schedule": "on", "schedule_windows": "04:00-25:00"}, "schedule_windows"),
        ({"schedule": "on", "schedule_windows": ""}, "schedule_windows"),
        ({"schedule": "on", "mode": "always-on"}, "schedule"),
        ({"schedule": "sometimes"}, "schedule"),
        ({"longitude_deg": 181.0}, "longitude_deg"),
        ({"schedule_clock": "lunar"}, "schedule_clock"),
    ):
        try:
            settings.validate(raw)
        except settings.SettingsError as e:
            assert e.key == key, (raw, e.key)
            continue
        raise AssertionError(f"accepted {raw!r}")
    s = settings.validate({"schedule": "on"})
    assert s.schedule_windows == "04:00-07:00,17:00-20:00" and s.longitude_deg == 131.3
