"""LoRaWAN payload codec: hit and heartbeat uplinks of at most 11 bytes.

Pure and MicroPython-compatible: used by the MCU firmware (which forwards the Pi's hit bytes to
the modem unchanged, and imports only the part it runs, ``trapfw.payload_core``, re-exported
here), by the Pi (``camtrap.core.hit_uplink``, ``camtrap decode``) and mirrored by the
ES5 payload formatter ``edge/camtrap/data/lora_formatter.js`` for The Things Stack and
ChirpStack. 11 bytes go out at every data rate of every region (US915 DR0, AS923 DR2 with dwell
time on), so a hit never waits for a faster data rate.

The message type is the FPort; byte 0 of every message is the format version (hits 1,
heartbeats 2; a heartbeat v2 carries status flags in byte 0's high nibble)::

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

Heartbeat, FPort 11, version 2, 11 bytes (version 1, from older firmware, still decodes: byte
0 is exactly 1 there, and its decode has no status fields)::

    0      low nibble: version (2); high nibble: status flags (v1: 0)
             bit 4  storage_fault: the Pi reported its storage degraded (disk full, read-only,
                    I/O errors) at its last report
             bit 5  clock_unset: the unit carries no wall-clock time (no time source yet)
             bit 6  low_battery: below the battery cutoff, the Pi is not booted
             bit 7  reserved (sent 0, ignored)
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

from trapfw.payload_core import (
    AGE_MAX_S,
    AGE_MINUTES_FLAG,
    AGE_UNKNOWN,
    BATTERY_MAX_MV,
    BATTERY_MIN_MV,
    BATTERY_STEP_MV,
    BATTERY_UNKNOWN,
    CLASS_NONE,
    EVENT_SEQ_MAX,
    FPORT_HEARTBEAT,
    FPORT_HIT,
    HB_CLOCK_UNSET,
    HB_LOW_BATTERY,
    HB_STORAGE_FAULT,
    HEARTBEAT_LEN,
    HEARTBEAT_VERSION,
    HIT_LEN,
    MAX_PAYLOAD,
    SCORE_STEPS,
    TEMP_UNKNOWN,
    VERSION,
    PayloadError,
    _age_s,
    _age_word,
    _battery_byte,
    _battery_mv,
    _check_int,
    _class_byte,
    _uint24,
    encode_heartbeat,
    restamp_age,
    unpack_hit,
)

__all__ = [
    "AGE_MAX_S",
    "AGE_MINUTES_FLAG",
    "AGE_UNKNOWN",
    "BATTERY_MAX_MV",
    "BATTERY_MIN_MV",
    "BATTERY_STEP_MV",
    "BATTERY_UNKNOWN",
    "CLASSES",
    "CLASS_NONE",
    "EVENT_SEQ_MAX",
    "FPORT_HEARTBEAT",
    "FPORT_HIT",
    "HB_CLOCK_UNSET",
    "HB_LOW_BATTERY",
    "HB_STORAGE_FAULT",
    "HEARTBEAT_LEN",
    "HEARTBEAT_VERSION",
    "HIT_LEN",
    "MAX_PAYLOAD",
    "SCORE_STEPS",
    "SYNONYMS",
    "TEMP_UNKNOWN",
    "VERSION",
    "PayloadError",
    "code_for",
    "decode",
    "decode_heartbeat",
    "decode_hit",
    "encode_heartbeat",
    "encode_hit",
    "iso_utc",
    "label_for",
    "restamp_age",
    "unpack_hit",
]

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


def label_for(code):
    """Canonical label of a class code, or None for a code not (yet) in the table."""
    if 0 <= code < len(CLASSES):
        return CLASSES[code]
    return None


def decode_hit(data):
    """Decode a hit uplink's bytes into the MQTT hit JSON field names."""
    code, q, agreeing, classified, batt, age = unpack_hit(data)
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


def _score_byte(score):
    if not isinstance(score, (int, float)) or isinstance(score, bool) or not 0 <= score <= 1:
        raise PayloadError(f"score must be a number in 0..1, got {score!r}")
    return int(score * SCORE_STEPS + 0.5)


def encode_hit(event_seq, class_code, score, frames_agreeing, frames_classified, battery_mv, age_s):
    """The 11-byte hit uplink (send on FPORT_HIT). ``battery_mv`` and ``age_s`` may be None
    (unknown)."""
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


def _heartbeat_version(data):
    """(version, flags) of a heartbeat: v1 is byte 0 == 1, v2 has its flags in the high nibble;
    PayloadError for anything else, then for a wrong length."""
    if len(data) < 1:
        raise PayloadError("heartbeat payload is empty")
    version = VERSION if data[0] == VERSION else data[0] & 0x0F  # v1 has no flags
    if version != HEARTBEAT_VERSION and data[0] != VERSION:
        raise PayloadError(
            f"heartbeat payload version {data[0]} is not supported (want 1, or 2 with flags)"
        )
    if len(data) != HEARTBEAT_LEN:
        raise PayloadError(
            f"heartbeat payload v{version} must be {HEARTBEAT_LEN} bytes, got {len(data)}"
        )
    return version, data[0] >> 4


def decode_heartbeat(data):
    """Decode a heartbeat uplink's bytes (v2, or v1 without the status fields)."""
    version, flags = _heartbeat_version(data)
    triggers, hits, unsent, unsent_class, temp = struct.unpack(">HBBBb", bytes(data[5:]))
    if unsent > hits:
        raise PayloadError(f"heartbeat hits_unsent {unsent} > hits {hits}")
    none = unsent_class == CLASS_NONE
    out = {
        "v": version,
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
    if version == HEARTBEAT_VERSION:
        out["storage_fault"] = bool(flags & HB_STORAGE_FAULT)
        out["clock_unset"] = bool(flags & HB_CLOCK_UNSET)
        out["low_battery"] = bool(flags & HB_LOW_BATTERY)
    return out


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
        if recv_time is not None:  # an unknown age: the receive time is the best there is
            age = out["age_s"]
            out["time"] = iso_utc(recv_time - (0 if age is None else age))
        return out
    if fport == FPORT_HEARTBEAT:
        return decode_heartbeat(data)
    raise PayloadError(
        f"unknown FPort {fport} (hit is {FPORT_HIT}, heartbeat is {FPORT_HEARTBEAT})"
    )
