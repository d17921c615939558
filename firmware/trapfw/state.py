"""Persistent MCU state that survives brown-outs: a CRC-checked record in a ring of slots.

The fields (event sequence, counters, heartbeat and lockout deadlines, the hit queue) come from
``fsm.State.persistent()``. Each save writes the next slot of a small ring with a write counter
one higher; loading takes the valid record with the highest counter. A write torn by a
brown-out fails its CRC, so the previous record wins: at most the last save is lost, never the
whole state. A HIT is durable before the Pi sees its ACK: the main loop runs the state
machine's ("save",) action before it writes the link's pending output (the ACK) to the UART.

Slots are backend objects with ``count``, ``read(i) -> bytes | None`` and ``write(i, data)``:
ESP32 NVS blobs, RP2 LittleFS files (``trapfw.hal``), or `MemSlots` in tests.

Wear: a record is at most ``MAX_RECORD`` (501) bytes (16 queued hits), about 110 with the
radio's state and an empty queue. The firmware writes two or three per event (sequence at the
trigger, each hit, power-off), one per heartbeat, uplink or join attempt: the 30-day soak
(~20 triggers a day, ESP32 with a reset at every wake) measures ~50 writes a day, ~5 KB a
day. ESP32 NVS is log-structured over its 24 KiB partition (6 pages of 4 KiB), so about
one page erase a day spread over 6 pages: each page's 100,000 cycles last centuries. RP2
LittleFS spreads the same bytes over ~350 erase blocks with dynamic wear levelling. The ring
of 4 slots is what makes a torn write harmless, not what spreads the wear.
"""

import struct

try:  # noqa: SIM105 (no contextlib on MicroPython)
    from typing import Any
except ImportError:  # MicroPython: annotations are not evaluated there
    pass

import trapfw
from trapfw.link import crc16

MAGIC = b"CT"
VERSION = 5  # 5: time source, network ask, RTC set; 4: time doubt and set; 3: offset; 2: hit times
_HEAD = ">2sBI"  # magic, version, write counter
# v1 ">IIIHHBqqqII" (see _FIELDS); v2 + "q": saved_at, the MCU clock at the save, ms; v3 + "q":
# time_offset, unix s minus MCU s (valid when flags & 4); v4 + "Iq": time_doubt (s, at the set)
# and time_set (MCU s); v5 + "BqI": time_src (link.TIME_SRC_*), time_asked (ms), rtc_set (unix
# s). trapfw.state_read reads all five.
_BODY = ">IIIHHBqqqIIqqIqBqI"
_TIME_KNOWN = 4
_STORAGE_FAULT = 8  # flags: the Pi's storage was degraded (fsm.State.storage_fault; any version)
_FIELDS = (
    "event_seq",
    "triggers",
    "hits",
    "boot_failures",
    "faults",
    "flags",
    "booted_at",
    "next_heartbeat",
    "lockout_until",
    "hb_triggers",
    "hb_hits",
    "saved_at",
    "time_offset",
    "time_doubt",
    "time_set",
    "time_src",
    "time_asked",
    "rtc_set",
)
_U32, _U16, _I64 = 0xFFFFFFFF, 0xFFFF, -1  # -1: keep as is (signed ms values)
_MASKS = (_U32, _U32, _U32, _U16, _U16, 0xFF, _I64, _I64, _I64, _U32, _U32, _I64, _I64, _U32, _I64)
_MASKS += (0xFF, _I64, _U32)  # v5

# The record is sized for the largest queue settings.py accepts (max_queue 16), so no valid
# setting can make a save fail: 16 hits of 11 bytes with their 8-byte times, and the radio's
# blob (trapfw.radio.LoraRadio.persist) of at most MAX_RADIO bytes.
MAX_QUEUE = 16
HIT_BYTES = 11  # = trapfw.payload_core.MAX_PAYLOAD (a test pins it; no import: heap)
MAX_RADIO = 80
MAX_RECORD = (
    struct.calcsize(_HEAD) + struct.calcsize(_BODY) + 1 + MAX_QUEUE * (1 + HIT_BYTES + 8)
) + (1 + MAX_RADIO + 2)


def encode(counter, fields):
    """A state dict -> record bytes (with counter and CRC).

    ``fields``: ``fsm.State.persistent()`` plus, optionally, ``saved_at`` (ms) and ``radio``
    (bytes). A queue longer than MAX_QUEUE or an item longer than HIT_BYTES is a caller bug
    (``fsm`` refuses both): ValueError, never a record that a load could not read back.
    """
    offset = fields.get("time_offset")
    flags = (1 if fields["lowbat"] else 0) | (2 if fields["lowbat_sent"] else 0)
    flags |= 0 if offset is None else _TIME_KNOWN
    flags |= _STORAGE_FAULT if fields.get("storage_fault") else 0
    known = dict(fields, flags=flags, time_offset=offset or 0)
    values = [known.get(k, 0) for k in _FIELDS]
    values = [v & mask for v, mask in zip(values, _MASKS)]  # noqa: B905 (MicroPython zip has no strict)
    out = bytearray(struct.pack(_HEAD, MAGIC, VERSION, counter & 0xFFFFFFFF))
    out += struct.pack(_BODY, *values)
    queue = fields["queue"]
    times = fields.get("queue_at") or (0,) * len(queue)
    if len(queue) > MAX_QUEUE or len(times) != len(queue):
        raise ValueError("state: queue")
    out.append(len(queue))
    for item, at in zip(queue, times):  # noqa: B905
        if len(item) > HIT_BYTES:
            raise ValueError("state: hit size")
        out.append(len(item))
        out += item
        out += struct.pack(">q", at)
    radio = fields.get("radio") or b""
    if len(radio) > MAX_RADIO:
        raise ValueError("state: radio size")
    out.append(len(radio))
    out += radio
    out += struct.pack(">H", crc16(out))
    return bytes(out)


class Ring:
    """A ring of record slots: `load` the newest valid record, `save` into the next slot."""

    def __init__(self, slots):
        self.slots = slots
        self.counter = 0
        self._slot = -1
        self.writes = 0

    def load(self):
        """The newest valid state dict, or None when no slot holds one. Once per boot: the
        reader (trapfw.state_read) is loaded for the call only (`trapfw.call`, heap)."""
        return trapfw.call("state_read", "load", self)

    def save(self, fields):
        self.counter += 1
        self._slot = (self._slot + 1) % self.slots.count
        self.slots.write(self._slot, encode(self.counter, fields))
        self.writes += 1


def __getattr__(name: str) -> "Any":
    # MemSlots (tests, the heap benchmark) lives in trapfw.slots_mem: a board never loads it;
    # the reader (decode, RecordError) in trapfw.state_read, loaded once per boot
    if name == "MemSlots":
        from trapfw.slots_mem import MemSlots

        return MemSlots
    if name in ("decode", "RecordError"):
        from trapfw import state_read

        return getattr(state_read, name)
    raise AttributeError(name)
