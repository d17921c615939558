"""LoRaWAN payload codec: hit and heartbeat uplinks of at most 11 bytes.

Pure and MicroPython-compatible: used by the MCU firmware (which forwards the Pi's hit bytes to
the modem unchanged), by the Pi (``camtrap.lora.hits``, ``camtrap decode``) and mirrored by the
ES5 payload formatter ``edge/camtrap/data/lora_formatter.js`` for The Things Stack and
ChirpStack. 11 bytes go out at every data rate of every region (US915 DR0, AS923 DR2 with dwell
time on), so a hit never waits for a faster data rate.

The message type is the FPort; byte 0 of every message is the format version (1)::

    >>> data = encode_hit(42, code_for("leopard"), 0.93, 3, 4, 3710, 12)
    >>> len(data), data.hex()
    (11, '0100002a01ba030456000c')
    >>> decode(FPORT_HIT, data)["label"]
    'leopard'

Hit, FPort 10, version 1, 11 bytes (multi-byte fields big-endian)::

    0      version (1)
    1..3   event_seq, uint24
    4      class_code (table below; codes are part of the wire format)
    5      score, 0..200 = 0.000..1.000 in steps of 0.005
    6      frames_agreeing, 0..255
    7      frames_classified, 0..255 (>= frames_agreeing)
    8      battery: 0..254 = 2000 + 20*q mV (2000..7080, clamped), 255 = unknown (null)
    9..10  age_s, uint16: top bit 0 = seconds 0..32767; top bit 1 = minutes in the low 15
           bits (up to 22.7 days, saturating)

Heartbeat, FPort 11, version 1, 11 bytes::

    0      version (1)
    1      battery, as in the hit
    2..4   last_event_seq, uint24: the newest event sequence the unit has allocated
    5..6   triggers since the last heartbeat, uint16 (saturating)
    7      hits dealt with since the last heartbeat (sent or folded), uint8 (saturating)
    8      hits_unsent: of those, hits folded here instead of sent (airtime), uint8
    9      unsent_class: class code of the best unsent hit, 255 = none
    10     temp_c, int8 (-128 = unknown)

Decoding returns the MQTT hit JSON field names (``event_seq, label, score, frames_agreeing,
frames_classified, battery_mv, age_s``) plus ``v``, ``type`` and ``class_code``; with
``recv_time`` (unix seconds) it adds ``time``, the ISO 8601 UTC trigger time. A wrong length,
an unknown version or FPort, or a field out of range raises ``PayloadError`` naming why, never
wrong numbers.
"""

import struct

try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


VERSION = const(1)
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
AGE_MAX_S = 0x7FFF * 60  # 22.7 days; older ages saturate here
CLASS_NONE = const(255)
TEMP_UNKNOWN = const(-128)

# The class-code table is part of the wire format: never renumber, only append.
# 13..199 are reserved for this table; 200..254 are free for site-specific labels.
CLASSES = (
    "other",  # 0: unknown or any class not listed
    "leopard",  # 1
    "tiger",  # 2
    "small_spotted_cat",  # 3: leopard cat, lynx-sized spotted cats (the leopard's look-alike)
    "domestic_cat",  # 4
    "deer",  # 5
    "boar",  # 6
    "person",  # 7
    "empty",  # 8: background, wind, vegetation
    "bear",  # 9
    "dog",  # 10
    "bird",  # 11
    "vehicle",  # 12
)

# Other names models use for the same classes (normalised: lower case, first comma-separated
# name, spaces and hyphens as underscores).
SYNONYMS = {
    "unknown": 0,
    "amur_leopard": 1,
    "panthera_pardus": 1,
    "amur_tiger": 2,
    "siberian_tiger": 2,
    "panthera_tigris": 2,
    "leopard_cat": 3,
    "prionailurus_bengalensis": 3,
    "small_cat": 3,
    "cat": 4,
    "house_cat": 4,
    "tabby": 4,
    "tiger_cat": 4,  # ImageNet's "tiger cat" is a domestic tabby
    "egyptian_cat": 4,
    "persian_cat": 4,
    "siamese_cat": 4,
    "roe_deer": 5,
    "sika_deer": 5,
    "red_deer": 5,
    "musk_deer": 5,
    "wild_boar": 6,
    "sus_scrofa": 6,
    "human": 7,
    "people": 7,
    "background": 8,
    "blank": 8,
    "nothing": 8,
    "brown_bear": 9,
    "black_bear": 9,
    "asiatic_black_bear": 9,
    "car": 12,
    "truck": 12,
}


class PayloadError(ValueError):
    """A payload that cannot be built or decoded; the message names why."""


def _normalise(label):
    name = label.split(",")[0].strip().lower()
    return name.replace(" ", "_").replace("-", "_")


def code_for(label):
    """Class code of a model label; 0 ("other") for labels the table does not know.

    >>> code_for("leopard, Panthera pardus"), code_for("Wild boar"), code_for("okapi")
    (1, 6, 0)
    """
    name = _normalise(label)
    if name in CLASSES:
        return CLASSES.index(name)
    return SYNONYMS.get(name, 0)


def label_for(code):
    """Canonical label of a class code, or None for a code not (yet) in the table."""
    if 0 <= code < len(CLASSES):
        return CLASSES[code]
    return None


# ---------------------------------------------------------------------------------------------
# Field encodings


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


def _score_byte(score):
    if not isinstance(score, (int, float)) or isinstance(score, bool) or not 0 <= score <= 1:
        raise PayloadError(f"score must be a number in 0..1, got {score!r}")
    return int(score * SCORE_STEPS + 0.5)


def _age_word(age_s):
    _check_int("age_s", age_s, 0, 1 << 62)
    if age_s <= 0x7FFF:
        return age_s
    return AGE_MINUTES_FLAG | min(age_s // 60, 0x7FFF)


def _age_s(word):
    if word & AGE_MINUTES_FLAG:
        return (word & 0x7FFF) * 60
    return word


def _class_byte(name, code, allow_none):
    if code is None and allow_none:
        return CLASS_NONE
    return _check_int(name, code, 0, 254)


# ---------------------------------------------------------------------------------------------
# Encoding


def encode_hit(event_seq, class_code, score, frames_agreeing, frames_classified, battery_mv, age_s):
    """The 11-byte hit uplink (send on FPORT_HIT). ``battery_mv`` may be None (unknown)."""
    _check_int("event_seq", event_seq, 0, EVENT_SEQ_MAX)
    _check_int("frames_classified", frames_classified, 0, 255)
    _check_int("frames_agreeing", frames_agreeing, 0, frames_classified)
    seq = struct.pack(">I", event_seq)[1:]
    return (
        bytes((VERSION,))
        + seq
        + struct.pack(
            ">BBBBBH",
            _class_byte("class_code", class_code, False),
            _score_byte(score),
            frames_agreeing,
            frames_classified,
            _battery_byte(battery_mv),
            _age_word(age_s),
        )
    )


def encode_heartbeat(
    battery_mv, last_event_seq, triggers, hits, hits_unsent=0, unsent_class=None, temp_c=None
):
    """The 11-byte heartbeat uplink (send on FPORT_HEARTBEAT). Counters saturate."""
    _check_int("last_event_seq", last_event_seq, 0, EVENT_SEQ_MAX)
    if temp_c is None:
        temp = TEMP_UNKNOWN
    else:
        _check_int("temp_c", temp_c, -1000, 1000)
        temp = min(max(temp_c, -127), 127)
    return (
        struct.pack(">BB", VERSION, _battery_byte(battery_mv))
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


# ---------------------------------------------------------------------------------------------
# Decoding


def _check_frame(kind, data, length):
    if len(data) < 1:
        raise PayloadError(f"{kind} payload is empty")
    if data[0] != VERSION:
        raise PayloadError(f"{kind} payload version {data[0]} is not supported (want 1)")
    if len(data) != length:
        raise PayloadError(f"{kind} payload v1 must be {length} bytes, got {len(data)}")


def restamp_age(data, extra_s):
    """The hit bytes ``data`` with ``extra_s`` seconds added to the event's age."""
    _check_frame("hit", data, HIT_LEN)
    _check_int("extra_s", extra_s, 0, 1 << 62)
    age = _age_s((data[9] << 8) | data[10]) + extra_s
    return bytes(data[:9]) + struct.pack(">H", _age_word(min(age, AGE_MAX_S)))


def _uint24(data, at):
    return (data[at] << 16) | (data[at + 1] << 8) | data[at + 2]


def decode_hit(data):
    """Decode a hit uplink's bytes into the MQTT hit JSON field names."""
    _check_frame("hit", data, HIT_LEN)
    code, q, agreeing, classified, batt, age = struct.unpack(">BBBBBH", bytes(data[4:]))
    if q > SCORE_STEPS:
        raise PayloadError(f"hit score byte {q} is out of range 0..200")
    if code == CLASS_NONE:
        raise PayloadError("hit class code 255 is not a class")
    if agreeing > classified:
        raise PayloadError(f"hit frames_agreeing {agreeing} > frames_classified {classified}")
    return {
        "v": VERSION,
        "type": "hit",
        "event_seq": _uint24(data, 1),
        "class_code": code,
        "label": label_for(code),
        "score": q / SCORE_STEPS,
        "frames_agreeing": agreeing,
        "frames_classified": classified,
        "battery_mv": _battery_mv(batt),
        "age_s": _age_s(age),
    }


def decode_heartbeat(data):
    """Decode a heartbeat uplink's bytes."""
    _check_frame("heartbeat", data, HEARTBEAT_LEN)
    triggers, hits, unsent, unsent_class, temp = struct.unpack(">HBBBb", bytes(data[5:]))
    if unsent > hits:
        raise PayloadError(f"heartbeat hits_unsent {unsent} > hits {hits}")
    none = unsent_class == CLASS_NONE
    return {
        "v": VERSION,
        "type": "heartbeat",
        "battery_mv": _battery_mv(data[1]),
        "last_event_seq": _uint24(data, 2),
        "triggers": triggers,
        "hits": hits,
        "hits_unsent": unsent,
        "unsent_class_code": None if none else unsent_class,
        "unsent_label": None if none else label_for(unsent_class),
        "temp_c": None if temp == TEMP_UNKNOWN else temp,
    }


def iso_utc(t):
    """Unix seconds -> ``2026-11-24T06:19:33Z`` (whole seconds), without ``datetime``."""
    t = int(t)
    days, rem = divmod(t, 86400)
    # Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    hh, mm, ss = rem // 3600, rem % 3600 // 60, rem % 60
    return f"{year:04d}-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}Z"


def decode(fport, data, recv_time=None):
    """Decode an uplink by FPort. ``recv_time`` (unix s) adds the hit's ``time``."""
    if fport == FPORT_HIT:
        out = decode_hit(data)
        if recv_time is not None:
            out["time"] = iso_utc(recv_time - out["age_s"])
        return out
    if fport == FPORT_HEARTBEAT:
        return decode_heartbeat(data)
    raise PayloadError(
        f"unknown FPort {fport} (hit is {FPORT_HIT}, heartbeat is {FPORT_HEARTBEAT})"
    )
