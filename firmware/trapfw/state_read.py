"""Reading the state back after a reset: the newest valid record of `trapfw.state`'s ring (every
record version), and the clock re-base after a power loss (`trapfw.app.App.start`).

Needed once per boot (an ESP32 boots at every wake), so ``state.Ring.load`` and ``App.start``
load this module for the call and unload it again (``trapfw.call``): its code and the older
versions' layouts are not on the heap while the firmware runs.
"""

import struct

from trapfw import state
from trapfw.link import crc16

_BODY_V1 = ">IIIHHBqqqII"  # see state._FIELDS
_BODY_V2 = _BODY_V1 + "q"  # ... then saved_at: the MCU clock at the save, ms
_BODY_V3 = _BODY_V2 + "q"  # ... then time_offset: unix s minus MCU s (valid when flags & 4)
_BODY_V4 = _BODY_V3 + "Iq"  # ... then time_doubt (s, at the set) and time_set (MCU s)
_BODIES = {1: _BODY_V1, 2: _BODY_V2, 3: _BODY_V3, 4: _BODY_V4, 5: state._BODY}  # v5: + time_src,
_NAMES = {1: 11, 2: 12, 3: 13, 4: 15, 5: 18}  # time_asked, rtc_set; names of state._FIELDS


class RecordError(ValueError):
    """A slot that holds no valid record (blank, torn, other version)."""


def decode(data):
    """Record bytes -> (counter, fields dict); RecordError for anything invalid."""
    if data is None or len(data) < 9:
        raise RecordError("blank")
    end = len(data) - 2
    if crc16(data[:end]) != struct.unpack(">H", data[end:])[0]:
        raise RecordError("crc")
    magic, version, counter = struct.unpack(state._HEAD, data[:7])
    if magic != state.MAGIC or version not in _BODIES:
        raise RecordError("version")
    body = _BODIES[version]
    at = 7 + struct.calcsize(body)
    names = state._FIELDS[: _NAMES[version]]
    fields: dict = dict(zip(names, struct.unpack(body, data[7:at])))  # noqa: B905
    flags = fields.pop("flags")
    fields["lowbat"] = bool(flags & 1)
    fields["lowbat_sent"] = bool(flags & 2)
    fields["storage_fault"] = bool(flags & state._STORAGE_FAULT)  # 0 in records before it
    if not flags & state._TIME_KNOWN:
        fields["time_offset"] = None
    at = _decode_queue(data, at, end, fields, version >= 2)
    fields["radio"] = b""
    if version >= 2:
        n = data[at]
        if at + 1 + n != end:
            raise RecordError("radio")
        fields["radio"] = bytes(data[at + 1 : end])
    return counter, fields


def _decode_queue(data, at, end, fields, timed):
    n = data[at]
    at += 1
    items, times = [], []
    for _ in range(n):
        size = data[at]
        stop = at + 1 + size + (8 if timed else 0)
        if stop > end:
            raise RecordError("queue")
        items.append(bytes(data[at + 1 : at + 1 + size]))
        times.append(struct.unpack(">q", data[stop - 8 : stop])[0] if timed else 0)
        at = stop
    fields["queue"] = tuple(items)
    fields["queue_at"] = tuple(times)
    return at


def load(ring):
    """``ring``'s newest valid state dict (its counter and slot set), or None (`Ring.load`)."""
    best = None
    for i in range(ring.slots.count):
        try:
            counter, fields = decode(ring.slots.read(i))
        except (RecordError, IndexError, ValueError):
            continue
        if best is None or counter > best[0]:
            best = (counter, fields)
            ring._slot = i
    if best is None:
        return None
    ring.counter = best[0]
    return best[1]


def rebase(st, shift):
    """The fsm state with its saved clock times moved by ``shift`` ms (after a power loss)."""
    offset = st.time_offset
    if offset is not None:  # the wall clock went on while this one restarted
        offset -= shift // 1000
    return st.replace(
        queue_at=tuple(t + shift for t in st.queue_at),
        booted_at=st.booted_at + shift,
        next_heartbeat=st.next_heartbeat + shift,
        lockout_until=max(0, st.lockout_until + shift),
        time_offset=offset,
        time_set=st.time_set + shift // 1000,  # MCU seconds: moved with its clock
        time_doubt=max(st.time_doubt, 1000000),  # off for how long? any real source wins
        time_asked=st.time_asked and st.time_asked + shift,
    )
