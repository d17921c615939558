"""The MCU's settings: strict validation that names the bad key.

The device keeps them in ``/settings.json`` (written by ``python -m tools.flash``). Unknown
keys, wrong types and out-of-range values raise ``SettingsError`` naming the key; missing keys
take the defaults below, except the secrets (device id, LoRaWAN keys) that the flash tool
writes. Pure: imports on CPython and MicroPython.

>>> s = validate({"device_id": "trap-07", "max_on_s": 120})
>>> s.max_on_s, s.mode
(120, 'power-gated')
>>> validate({"max_on_s": 5})
Traceback (most recent call last):
...
trapfw.settings.SettingsError: settings: max_on_s: must be in 30..3600, got 5
"""

try:  # noqa: SIM105 (no contextlib on MicroPython)
    from typing import Any
except ImportError:  # MicroPython: annotations are not evaluated there
    pass

# key: (default, lo, hi) for numbers; (default, choices) for strings with a fixed set;
# (default, min_len, max_len, charset) for free strings; (default,) for booleans.
_HEX = "0123456789abcdefABCDEF"
_ID = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
SPEC = {
    "device_id": ("camtrap-01", 1, 32, _ID),
    "board": ("esp32", ("esp32", "rp2")),
    "mode": ("power-gated", ("power-gated", "always-on")),
    "boot_timeout_s": (30, 5, 300),
    "burst_timeout_s": (60, 5, 600),
    "shutdown_grace_s": (20, 1, 120),
    "max_on_s": (180, 30, 3600),
    "lockout_s": (30, 0, 3600),
    "battery_cutoff_mv": (3300, 2500, 4500),
    "battery_hysteresis_mv": (150, 0, 1000),
    "battery_divider": (2.0, 1.0, 10.0),
    "battery_period_s": (60, 5, 3600),
    "heartbeat_s": (86400, 600, 604800),
    "wdt_ms": (8000, 1000, 8388),
    "max_queue": (8, 1, 16),  # trapfw.state.MAX_QUEUE: the state record is sized for 16
    "link_baud": (115200, 9600, 921600),
    "link_ack_ms": (500, 10, 30000),
    "link_retries": (3, 0, 20),
    "modem": ("lora-e5", ("lora-e5", "rak3172", "none")),
    "lora_region": (
        "EU868",
        ("EU868", "US915", "AU915", "AS923", "IN865", "KR920", "RU864", "CN470"),
    ),
    "lora_dr": (-1, -1, 15),  # -1: the slowest data rate that carries 11 bytes in the region
    "lora_adr": (True,),  # ADR on: the network speeds a static trap up; airtime is still
    # charged at lora_dr (or the slowest), so ADR can only leave budget unused
    "lora_subband": (2, 1, 8),  # US915/AU915: the 8-channel sub-band of the gateways (FSB2: TTN)
    "daily_airtime_s": (30.0, 0.0, 86400.0),
    "lora_time": (True,),  # ask the network's time (DeviceTimeReq) when the clock needs it
    "rtc": ("none", ("none", "ds3231")),  # a DS3231-class I2C RTC on rtc_sda/rtc_scl
    # Activity schedule (power-gated): the Pi up and armed inside the windows (trapfw.schedule).
    # Default windows: the twilight hours, when Amur leopards move most (docs/firmware.md).
    "schedule": ("off", ("off", "on")),
    "schedule_windows": ("04:00-07:00,17:00-20:00", 0, 80, "0123456789:-, "),
    "schedule_clock": ("solar", ("solar", "fixed")),
    "longitude_deg": (131.3, -180.0, 180.0),  # Land of the Leopard National Park, Primorye
    "utc_offset_min": (600, -720, 840),  # "fixed": Vladivostok, UTC+10
    "dev_eui": ("", 0, 16, _HEX),
    "join_eui": ("", 0, 16, _HEX),
    "app_key": ("", 0, 32, _HEX),
}
SECRET_KEYS = ("dev_eui", "join_eui", "app_key")


class SettingsError(ValueError):
    """A settings value is unknown, of the wrong type or out of range; names the key."""

    def __init__(self, key, problem):
        super().__init__(f"settings: {key}: {problem}")
        self.key = key
        self.problem = problem


class Settings:
    """Validated settings as attributes; ``as_dict()`` gives them back (secrets included)."""

    def __init__(self, values):
        for key in SPEC:
            setattr(self, key, values[key])

    def __getattr__(self, name: str) -> "Any":  # the keys of SPEC are set in __init__
        raise AttributeError(name)

    def as_dict(self):
        return {key: getattr(self, key) for key in SPEC}

    def __repr__(self):
        shown = [f"{k}={getattr(self, k)!r}" for k in SPEC if k not in SECRET_KEYS]
        return "Settings(" + ", ".join(shown) + ")"  # secrets never reach a log


def validate(raw):
    """dict -> Settings, or SettingsError naming the first bad key (sorted order)."""
    if not isinstance(raw, dict):
        raise SettingsError("(root)", "must be an object")
    for key in sorted(raw):
        if key not in SPEC:
            raise SettingsError(key, "unknown key (known: {})".format(", ".join(sorted(SPEC))))
    values = {}
    for key in SPEC:
        spec = SPEC[key]
        values[key] = _check(key, raw[key], spec) if key in raw else spec[0]
    _check_keys_together(values)
    return Settings(values)


def _check(key, value, spec):
    default = spec[0]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SettingsError(key, f"must be true or false, got {value!r}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise SettingsError(key, f"must be a string, got {value!r}")
        if len(spec) == 2:
            if value not in spec[1]:
                raise SettingsError(
                    key, "must be one of {}, got {!r}".format(", ".join(spec[1]), value)
                )
            return value
        return _check_text(key, value, spec)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(key, f"must be a number, got {value!r}")
    if isinstance(default, int) and not isinstance(value, int):
        raise SettingsError(key, f"must be an integer, got {value!r}")
    if not spec[1] <= value <= spec[2]:
        raise SettingsError(key, f"must be in {spec[1]}..{spec[2]}, got {value}")
    return value


def _check_text(key, value, spec):
    lo, hi, charset = spec[1], spec[2], spec[3]
    if not lo <= len(value) <= hi:
        raise SettingsError(key, f"length must be {lo}..{hi}, got {len(value)}")
    for ch in value:
        if ch not in charset:
            raise SettingsError(key, f"character {ch!r} not allowed")
    if charset is _HEX and value and len(value) != hi:
        raise SettingsError(key, f"must be {hi} hex digits, got {len(value)}")
    return value


def _check_keys_together(values):
    if values["board"] == "rp2" and values["wdt_ms"] > 8388:
        raise SettingsError("wdt_ms", "rp2 watchdog maximum is 8388 ms")
    if values["modem"] != "none":
        for key in SECRET_KEYS:
            if not values[key]:
                continue
            # All three or none: a half-keyed modem would try to join and fail for months.
            missing = [k for k in SECRET_KEYS if not values[k]]
            if missing:
                raise SettingsError(missing[0], f"missing while {key} is set")
            break
    if values["max_on_s"] < values["boot_timeout_s"]:
        raise SettingsError("max_on_s", "must be >= boot_timeout_s")
    if values["schedule"] == "on":
        _check_schedule(values)


def _check_schedule(values):
    from trapfw import schedule  # loaded only when a schedule is set (heap)

    if values["mode"] != "power-gated":
        raise SettingsError("schedule", "needs mode = power-gated (always-on is always up)")
    try:
        windows = schedule.parse_windows(values["schedule_windows"])
    except schedule.ScheduleError as e:
        raise SettingsError("schedule_windows", str(e)) from None
    if not windows:
        raise SettingsError("schedule_windows", "no window while schedule = on")
