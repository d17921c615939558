"""How `trapfw.radio.LoraRadio` survives a reset: its state-record bytes and its RTC snapshot.

Split from ``trapfw.radio`` because the MCU needs it a few times per event only (restore at
the first use after a wake, pack at each save, the RTC snapshot before a deep sleep): the radio
imports it for the call and unloads it again, so its bytecode is not on the heap in between.
"""

import binascii
import struct

_STATE = ">BIIHHBBBddhf"  # see persist()
_STATE_VERSION = 1
_RTC_VERSION = 2
_KINDS = ("hit", "heartbeat")


def settings_hash(cfg):
    """CRC-32 of the settings the modem's one-time setup depends on (never 0)."""
    keys = (cfg.modem, cfg.lora_region, cfg.dev_eui, cfg.join_eui, cfg.app_key, cfg.lora_dr)
    text = "|".join(str(v) for v in keys) + f"|{cfg.lora_adr}|{cfg.lora_subband}"
    return (binascii.crc32(text.encode()) & 0xFFFFFFFF) or 1


def persist(r):
    """The state-record part of the radio, as bytes (see the module docstring)."""
    s, b = r.sched, r.backoff
    first, ready_at, window, used = (
        r.join_state if b is None else (b.first, b.ready_at, b.window, b.used)
    )
    flags = (1 if r.joined else 0) | (2 if r.hb_pending else 0)
    flags |= 4 if first is not None else 0  # times may be < 0 after a clock rebase
    cls = 255 if s.unsent_class is None else s.unsent_class
    score = 255 if s.unsent_score < 0 else int(s.unsent_score * 200 + 0.5)
    return struct.pack(
        _STATE,
        _STATE_VERSION,
        r.configured_hash,
        r.reported_triggers & 0xFFFFFFFF,
        min(s.hits, 0xFFFF),
        min(s.hits_unsent, 0xFFFF),
        cls,
        min(score, 255),
        flags,
        0.0 if first is None else first,
        ready_at,
        window,
        used,
    )


def restore_state(r, data, shift_s=0.0):
    """Undo a reset with `persist` bytes; ``shift_s``: how far the clock jumped back."""
    if not data or len(data) != struct.calcsize(_STATE):
        return False
    values = struct.unpack(_STATE, data)
    if values[0] != _STATE_VERSION:
        return False
    _, r.configured_hash, r.reported_triggers, hits, unsent, cls, score, flags = values[:8]
    s = r.sched
    s.hits, s.hits_unsent = hits, unsent
    s.unsent_class = None if cls == 255 else cls
    s.unsent_score = -1.0 if score == 255 else score / 200
    r.joined = bool(flags & 1)
    r.hb_pending = bool(flags & 2)
    first, ready_at, window, used = values[8:]
    first = first + shift_s if flags & 4 else None
    r.join_state = (first, ready_at + shift_s, window, used)
    r.backoff = None
    if r.hb_pending:
        s.heartbeat_due = s.heartbeat_not_before
    return True


def snapshot(r):
    """The airtime log and sub-band closures, bounded: for ESP32 RTC memory."""
    s = r.sched
    out = bytearray(struct.pack(">BBB", _RTC_VERSION, len(s.bands), len(s.log)))
    for band in s.bands:
        out += struct.pack(">d", band[1])
    for t, a, k in s.log:  # airtime in whole ms, rounded up: never less than spent
        out += struct.pack(">dIB", t, int(a * 1000) + 1, _KINDS.index(k))
    return bytes(out)


def restore(r, data):
    """Undo a deep sleep with `snapshot` bytes (from RTC memory); bad bytes are ignored."""
    if not data or len(data) < 3:
        return False
    try:
        version, nbands, nlog = struct.unpack(">BBB", data[:3])
        if version != _RTC_VERSION or nbands != len(r.sched.bands):
            return False
        if len(data) != 3 + 8 * nbands + 13 * nlog:
            return False
        at = 3
        ready = []
        for _ in range(nbands):
            ready.append(struct.unpack(">d", data[at : at + 8])[0])
            at += 8
        log = []
        for _ in range(nlog):
            t, a, k = struct.unpack(">dIB", data[at : at + 13])
            log.append((t, a / 1000, _KINDS[k]))
            at += 13
    except (ValueError, TypeError, IndexError):
        return False
    for band, t in zip(r.sched.bands, ready):  # noqa: B905 (MicroPython zip has no strict)
        band[1] = t
    r.sched.log = log
    return True
