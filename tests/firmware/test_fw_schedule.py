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
