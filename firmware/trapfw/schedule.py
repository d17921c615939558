"""Activity schedule: the hours of the day when the MCU keeps the Pi up and armed.

Windows are written ``"HH:MM-HH:MM"``, comma separated, in local time of the deployment: local
mean solar time from its longitude (noon = the sun due south, 4 minutes per degree east of
Greenwich), or a fixed offset from UTC. A window may wrap past midnight (``"21:00-02:00"``).
Outside the windows the MCU power-gates the Pi as usual; inside them the Pi stays up, so a
trigger costs milliseconds instead of a boot. Pure: imports on CPython and MicroPython, and
the Pi's ``camtrap power-budget`` costs a schedule with the same code.

>>> w = parse_windows("04:00-07:00, 17:00-20:00")
>>> w
((240, 420), (1020, 1200))
>>> minutes_per_day(w), in_window(w, 300), in_window(w, 600)
(360, True, False)
>>> offset_s("solar", 131.9, 0)   # Land of the Leopard: 131.9 deg E is UTC+8:47:36 solar
31656
>>> parse_windows("07:00-04:00,03:00-05:00")
Traceback (most recent call last):
...
trapfw.schedule.ScheduleError: windows overlap: 07:00-04:00 and 03:00-05:00
"""

DAY_MIN = 1440
MAX_WINDOWS = 6


class ScheduleError(ValueError):
    """A schedule string or clock setting that cannot be used; says what is wrong."""


def parse_windows(text):
    """``"HH:MM-HH:MM,..."`` -> sorted ((start_min, end_min), ...); ``""`` -> no windows."""
    text = text.strip()
    if not text:
        return ()
    windows = [_window(part.strip()) for part in text.split(",")]
    if len(windows) > MAX_WINDOWS:
        raise ScheduleError(f"at most {MAX_WINDOWS} windows, got {len(windows)}")
    _check_overlaps(windows)
    return tuple(sorted(windows))


def _window(part):
    if part.count("-") != 1:
        raise ScheduleError(f"window {part!r}: want HH:MM-HH:MM")
    start, end = part.split("-")
    a, b = _minute(start.strip(), part), _minute(end.strip(), part)
    if a == b:
        raise ScheduleError(f"window {part!r}: start and end are the same")
    return (a, b)


def _minute(hhmm, part):
    pieces = hhmm.split(":")
    if len(pieces) != 2 or not all(len(p) == 2 and p.isdigit() for p in pieces):
        raise ScheduleError(f"window {part!r}: {hhmm!r} is not HH:MM")
    h, m = int(pieces[0]), int(pieces[1])
    if h == 24 and m == 0:
        return 0
    if h > 23 or m > 59:
        raise ScheduleError(f"window {part!r}: {hhmm!r} is not a time of day")
    return h * 60 + m


def _spans(window):
    """A window as one or two [a, b) spans inside one day."""
    a, b = window
    return ((a, b),) if a < b else ((a, DAY_MIN), (0, b))


def _check_overlaps(windows):
    for i, w1 in enumerate(windows):
        for w2 in windows[i + 1 :]:
            for a1, b1 in _spans(w1):
                for a2, b2 in _spans(w2):
                    if a1 < b2 and a2 < b1:
                        first, second = format_window(w1), format_window(w2)
                        raise ScheduleError(f"windows overlap: {first} and {second}")


def format_window(window):
    a, b = window
    return f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"


def minutes_per_day(windows):
    return sum(b - a for w in windows for a, b in _spans(w))


def in_window(windows, minute):
    """Whether minute-of-day ``minute`` (local) is inside a window (start in, end out)."""
    minute %= DAY_MIN
    return any(a <= minute < b for w in windows for a, b in _spans(w))


def offset_s(clock, longitude_deg, utc_offset_min):
    """Seconds to add to UTC for local time: ``"solar"`` from the longitude (east positive),
    ``"fixed"`` from a UTC offset in minutes."""
    if clock == "solar":
        if not -180 <= longitude_deg <= 180:
            raise ScheduleError(f"longitude must be in -180..180, got {longitude_deg!r}")
        return round(longitude_deg * 240)
    if clock == "fixed":
        if not -720 <= utc_offset_min <= 840:
            raise ScheduleError(f"utc offset must be in -720..840 min, got {utc_offset_min!r}")
        return int(utc_offset_min) * 60
    raise ScheduleError(f"clock must be 'solar' or 'fixed', got {clock!r}")


def local_minute(utc_s, offset):
    """Local minute of the day at UTC time ``utc_s`` (seconds since any midnight UTC)."""
    return int((utc_s + offset) // 60) % DAY_MIN


def is_armed(windows, utc_s, offset):
    """Whether the Pi should be up and armed at UTC time ``utc_s``."""
    return bool(windows) and in_window(windows, local_minute(utc_s, offset))


def seconds_to_change(windows, utc_s, offset):
    """Seconds from ``utc_s`` to the next window edge (start or end); None without windows.

    The MCU sleeps at most this long, so it wakes to raise or drop the Pi on time.
    """
    if not windows:
        return None
    local = (utc_s + offset) % (DAY_MIN * 60)
    best = None
    for a, b in windows:
        for edge in (a, b):
            wait = (edge * 60 - local) % (DAY_MIN * 60)
            if wait == 0:
                wait = DAY_MIN * 60
            if best is None or wait < best:
                best = wait
    return best


# -- for the state machine: the settings' windows, parsed once ------------------------------

_PARSED = {}


def _of(cfg):
    key = (cfg.schedule_windows, cfg.schedule_clock, cfg.longitude_deg, cfg.utc_offset_min)
    if key not in _PARSED:
        offset = offset_s(cfg.schedule_clock, cfg.longitude_deg, cfg.utc_offset_min)
        _PARSED[key] = (parse_windows(cfg.schedule_windows), offset)
    return _PARSED[key]


def armed_at(cfg, utc_s):
    """Whether settings ``cfg`` (schedule on) want the Pi armed at UTC ``utc_s``."""
    windows, offset = _of(cfg)
    return is_armed(windows, utc_s, offset)


def wait_s(cfg, utc_s):
    """Seconds from UTC ``utc_s`` to the next window edge of settings ``cfg`` (schedule on)."""
    windows, offset = _of(cfg)
    return seconds_to_change(windows, utc_s, offset) or DAY_MIN * 60
