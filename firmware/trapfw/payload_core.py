"""The part of the LoRaWAN payload codec the MCU runs: constants, hit checking, age re-stamping
and the heartbeat encoder (the class-label table stays with the Pi, in ``trapfw.payload``).

The wire format and the whole codec are in ``trapfw.payload`` (which re-exports everything
here); the MCU imports only this module, so the Pi-side encoder, decoders, label synonyms and
ISO time formatting stay off its heap. Pure and MicroPython-compatible.
"""

import struct

try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


VERSION = const(1)  # the hit's; the heartbeat is at HEARTBEAT_VERSION
HEARTBEAT_VERSION = const(2)  # v2: byte 0's high nibble carries the status flags (HB_*)
FPORT_HIT = const(10)
FPORT_HEARTBEAT = const(11)
HIT_LEN = const(11)
HEARTBEAT_LEN = const(11)
MAX_PAYLOAD = const(11)  # bytes: fits US915 DR0 and AS923 DR2 (dwell time on)

EVENT_SEQ_MAX = const(0xFFFFFF)
SCORE_STEPS = const(200)  # score byte q means q / 200
BATTERY_MIN_MV = const(2000)
BATTERY_STEP_MV = const(20)
BATTERY_UNKNOWN = const(255)
BATTERY_MAX_MV = BATTERY_MIN_MV + 254 * BATTERY_STEP_MV  # 7080
AGE_MINUTES_FLAG = const(0x8000)
AGE_UNKNOWN = const(0xFFFF)  # "age unknown": an unknown clock, or older than AGE_MAX_S
AGE_MAX_S = const(0x7FFE * 60)  # 22.7 days; an older age is sent as unknown, not as this
CLASS_NONE = const(255)
TEMP_UNKNOWN = const(-128)
# Heartbeat v2 status flags, byte 0 = HEARTBEAT_VERSION | flags << 4 (bit 3 reserved, sent 0)
HB_STORAGE_FAULT = const(1)  # the Pi reported its storage degraded (disk full, read-only, I/O)
HB_CLOCK_UNSET = const(2)  # the unit carries no wall-clock time (no time source yet)
HB_LOW_BATTERY = const(4)  # below the battery cutoff: the Pi is not booted


class PayloadError(ValueError):
    """A payload that cannot be built or decoded; the message names why."""


def _check_int(name, value, lo, hi):
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise PayloadError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def _saturate(name, value, hi):
    _check_int(name, value, 0, 1 << 62)
    return min(value, hi)


def _battery_byte(battery_mv):
    if battery_mv is None:
        return BATTERY_UNKNOWN
    _check_int("battery_mv", battery_mv, 0, 1 << 20)
    mv = min(max(battery_mv, BATTERY_MIN_MV), BATTERY_MAX_MV)
    return (mv - BATTERY_MIN_MV + BATTERY_STEP_MV // 2) // BATTERY_STEP_MV


def _battery_mv(q):
    return None if q == BATTERY_UNKNOWN else BATTERY_MIN_MV + BATTERY_STEP_MV * q


def _age_word(age_s):
    """None (unknown) or an age beyond AGE_MAX_S -> AGE_UNKNOWN: a saturated age would date a
    late hit up to 22.7 days early, an explicit unknown makes the receiver use its own time."""
    if age_s is None:
        return AGE_UNKNOWN
    _check_int("age_s", age_s, 0, 1 << 62)
    if age_s <= 0x7FFF:
        return age_s
    if age_s > AGE_MAX_S:
        return AGE_UNKNOWN
    return AGE_MINUTES_FLAG | (age_s // 60)


def _age_s(word):
    if word == AGE_UNKNOWN:
        return None
    if word & AGE_MINUTES_FLAG:
        return (word & 0x7FFF) * 60
    return word


def _class_byte(name, code, allow_none):
    if code is None and allow_none:
        return CLASS_NONE
    return _check_int(name, code, 0, 254)


def encode_heartbeat(
    battery_mv,
    last_event_seq,
    triggers,
    hits,
    hits_unsent=0,
    unsent_class=None,
    temp_c=None,
    flags=0,
):
    """The 11-byte heartbeat uplink, version 2 (send on FPORT_HEARTBEAT). Counters saturate;
    ``flags``: HB_* bits."""
    _check_int("last_event_seq", last_event_seq, 0, EVENT_SEQ_MAX)
    _check_int("flags", flags, 0, 7)
    if temp_c is None:
        temp = TEMP_UNKNOWN
    else:
        _check_int("temp_c", temp_c, -1000, 1000)
        temp = min(max(temp_c, -127), 127)
    return (
        struct.pack(">BB", HEARTBEAT_VERSION | flags << 4, _battery_byte(battery_mv))
        + struct.pack(">I", last_event_seq)[1:]
        + struct.pack(
            ">HBBBb",
            _saturate("triggers", triggers, 0xFFFF),
            _saturate("hits", hits, 255),
            _saturate("hits_unsent", hits_unsent, 255),
            _class_byte("unsent_class", unsent_class, True),
            temp,
        )
    )


def _check_frame(kind, data, length):
    if len(data) < 1:
        raise PayloadError(f"{kind} payload is empty")
    if data[0] != VERSION:
        raise PayloadError(f"{kind} payload version {data[0]} is not supported (want 1)")
    if len(data) != length:
        raise PayloadError(f"{kind} payload v1 must be {length} bytes, got {len(data)}")


def restamp_age(data, extra_s):
    """The hit bytes ``data`` with ``extra_s`` seconds added to the event's age (an unknown
    age stays unknown; one that grows past AGE_MAX_S becomes unknown)."""
    _check_frame("hit", data, HIT_LEN)
    _check_int("extra_s", extra_s, 0, 1 << 62)
    age = _age_s((data[9] << 8) | data[10])
    if age is not None:
        age += extra_s
    return bytes(data[:9]) + struct.pack(">H", _age_word(age))


def _uint24(data, at):
    return (data[at] << 16) | (data[at + 1] << 8) | data[at + 2]


def unpack_hit(data):
    """A hit's fields as numbers, checked: (class code, score byte, frames agreeing, frames
    classified, battery byte, age word). The MCU needs no more (``payload.decode_hit``: JSON)."""
    _check_frame("hit", data, HIT_LEN)
    code, q, agreeing, classified, batt, age = struct.unpack(">BBBBBH", bytes(data[4:]))
    if q > SCORE_STEPS:
        raise PayloadError(f"hit score byte {q} is out of range 0..200")
    if code == CLASS_NONE:
        raise PayloadError("hit class code 255 is not a class")
    if agreeing > classified:
        raise PayloadError(f"hit frames_agreeing {agreeing} > frames_classified {classified}")
    return code, q, agreeing, classified, batt, age
