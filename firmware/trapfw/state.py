"""Persistent MCU state that survives brown-outs: a CRC-checked record in a ring of slots.

The fields (event sequence, counters, heartbeat and lockout deadlines, the hit queue) come from
``fsm.State.persistent()``. Each save writes the next slot of a small ring with a write counter
one higher; loading takes the valid record with the highest counter. A write torn by a
brown-out fails its CRC, so the previous record wins: at most the last save is lost, never the
whole state. A HIT is durable before the Pi sees its ACK: the main loop runs the state
machine's ("save",) action before it writes the link's pending output (the ACK) to the UART.

Slots are backend objects with ``count``, ``read(i) -> bytes | None`` and ``write(i, data)``:
ESP32 NVS blobs, RP2 LittleFS files (``trapfw.hal``), or `MemSlots` in tests.

Wear: a record is at most ``MAX_RECORD`` (160) bytes and the firmware writes about two or three
per event (sequence at the trigger, each hit, power-off) plus one per heartbeat: the 30-day
soak (~20 triggers a day) measures ~40 writes a day, under 7 KB a day. ESP32 NVS is
log-structured over its 24 KiB partition (6 pages of 4 KiB, ~20 of these records a page), so
~2 page erases a day spread over 6 pages: each page sees ~0.4 erase a day, and its 100,000
cycles last ~600 years. RP2 LittleFS spreads the same bytes over ~350 erase blocks with dynamic
wear levelling: far below one erase per block a day. The ring of 4 slots is what makes a torn
write harmless, not what spreads the wear.
"""

import struct

from trapfw.link import crc16

MAGIC = b"CT"
VERSION = 1
_HEAD = ">2sBI"  # magic, version, write counter
_BODY = ">IIIHHBqqqII"  # see _FIELDS
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
)
_U32, _U16, _I64 = 0xFFFFFFFF, 0xFFFF, -1  # -1: keep as is (signed ms values)
_MASKS = (_U32, _U32, _U32, _U16, _U16, 0xFF, _I64, _I64, _I64, _U32, _U32)
MAX_RECORD = 160


class RecordError(ValueError):
    """A slot that holds no valid record (blank, torn, other version)."""


def encode(counter, fields):
    """A state dict -> record bytes (with counter and CRC)."""
    flags = (1 if fields["lowbat"] else 0) | (2 if fields["lowbat_sent"] else 0)
    values = [fields[k] if k != "flags" else flags for k in _FIELDS]
    values = [v & mask for v, mask in zip(values, _MASKS)]  # noqa: B905 (MicroPython zip has no strict)
    out = bytearray(struct.pack(_HEAD, MAGIC, VERSION, counter & 0xFFFFFFFF))
    out += struct.pack(_BODY, *values)
    queue = fields["queue"]
    out.append(len(queue))
    for item in queue:
        out.append(len(item))
        out += item
    if len(out) + 2 > MAX_RECORD:
        raise ValueError(f"state record too long: {len(out) + 2} bytes")
    out += struct.pack(">H", crc16(out))
    return bytes(out)


def decode(data):
    """Record bytes -> (counter, fields dict); RecordError for anything invalid."""
    if data is None or len(data) < 4:
        raise RecordError("blank")
    end = len(data) - 2
    if crc16(data[:end]) != struct.unpack(">H", data[end:])[0]:
        raise RecordError("crc")
    magic, version, counter = struct.unpack(_HEAD, data[:7])
    if magic != MAGIC or version != VERSION:
        raise RecordError("version")
    at = 7 + struct.calcsize(_BODY)
    fields: dict = dict(zip(_FIELDS, struct.unpack(_BODY, data[7:at])))  # noqa: B905
    flags = fields.pop("flags")
    fields["lowbat"] = bool(flags & 1)
    fields["lowbat_sent"] = bool(flags & 2)
    fields["queue"] = _decode_queue(data, at, end)
    return counter, fields


def _decode_queue(data, at, end):
    n = data[at]
    at += 1
    items = []
    for _ in range(n):
        size = data[at]
        if at + 1 + size > end:
            raise RecordError("queue")
        items.append(bytes(data[at + 1 : at + 1 + size]))
        at += 1 + size
    return tuple(items)


class Ring:
    """A ring of record slots: `load` the newest valid record, `save` into the next slot."""

    def __init__(self, slots):
        self.slots = slots
        self.counter = 0
        self._slot = -1
        self.writes = 0

    def load(self):
        """The newest valid state dict, or None when no slot holds one."""
        best = None
        for i in range(self.slots.count):
            try:
                counter, fields = decode(self.slots.read(i))
            except (RecordError, IndexError, ValueError):
                continue
            if best is None or counter > best[0]:
                best = (counter, fields)
                self._slot = i
        if best is None:
            return None
        self.counter = best[0]
        return best[1]

    def save(self, fields):
        self.counter += 1
        self._slot = (self._slot + 1) % self.slots.count
        self.slots.write(self._slot, encode(self.counter, fields))
        self.writes += 1


class MemSlots:
    """In-memory slots for tests; ``tear(i)`` corrupts a slot like a brown-out mid-write."""

    def __init__(self, count=4):
        self.count = count
        self.data: list = [None] * count

    def read(self, i):
        return self.data[i]

    def write(self, i, data):
        self.data[i] = bytes(data)

    def tear(self, i):
        if self.data[i]:
            half = len(self.data[i]) // 2
            self.data[i] = self.data[i][:half] + b"\xff" * (len(self.data[i]) - half)
