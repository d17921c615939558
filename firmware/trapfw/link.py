"""The Pi <-> MCU serial link: COBS framing, CRC-16, sequence numbers, ACK/NACK, retransmit.

Pure and sans-IO: bytes in, messages out, and bytes to write back. Imports on CPython and on
MicroPython, so the MCU firmware and the Pi adapter share this one codec.

Wire frame (before COBS)::

    type:u8  seq:u8  body:0..64 bytes  crc:u16 big-endian (CRC-16/CCITT-FALSE over type..body)

COBS-encoded and terminated by one 0x00 byte, so a receiver resyncs at the next zero after any
garbage. Every data message is answered by ACK(seq); a frame that fails COBS or CRC is answered
by NACK(BAD) and the sender retransmits at once; a silent peer is retried after the ACK timeout,
and after ``retries`` retries the message is given up (``Link.failed``). One message is in
flight at a time (stop and wait), which keeps order and the MCU's buffers small. A receiver
drops a repeated seq as a duplicate (and ACKs it again). HELLO always has seq 0 and starts a
new session on the receiving side (the peer restarted); data messages use seq 1..255.

A frame that passes the CRC is not trusted either: `body_error` checks each type's body (length,
value ranges, printable ASCII) before the message is delivered, and a bad one is counted
(``stats["body"]``), answered NACK(INVALID) and dropped, so no handler on either side ever sees
a body it cannot parse. Bodies longer than their fields are accepted (a newer peer may append
fields); the extra bytes are ignored.

>>> a, b = Link(), Link()
>>> a.send(TRIGGER, trigger_body(42, 0, 3700), 0)
>>> [m.mtype for m in b.feed(a.take_output(), 0)] == [TRIGGER]
True
"""

import struct

PROTO_VERSION = 1
MAX_BODY = 64
_MAX_RAW = MAX_BODY + 4
_MAX_ENCODED = _MAX_RAW + 2  # COBS adds at most one byte per 254, plus the first code byte

# Message types. Data messages are acknowledged; ACK and NACK are not.
HELLO = 0x01  # both ways: proto u8, role u8 (0 mcu, 1 pi), version ascii
TRIGGER = 0x02  # MCU -> Pi: event_seq u24, index u8 (0 first, n extra), battery_mv u16
READY = 0x03  # Pi -> MCU: the service is up and waits for triggers
RESULT = 0x04  # Pi -> MCU: event_seq u24, verdict u8 (VERDICT_*)
HIT = 0x05  # Pi -> MCU: the exact LoRa hit uplink bytes (opaque here)
STATUS = 0x06  # MCU -> Pi: see status_body; Pi -> MCU with an empty body: a request
SHUTDOWN = 0x07  # MCU -> Pi: request (kind 0); Pi -> MCU: ack (kind 1), then the Pi halts
TIME = 0x08  # both ways: unix seconds u32, uncertainty s u16, source u8 (see time_body)
HEALTH = 0x09  # Pi -> MCU: flags u8 (HEALTH_*): once at the start of its service, then at changes
ACK = 0x10  # seq = the acknowledged seq, empty body
NACK = 0x11  # body: reason u8 (NACK_*)

DATA_TYPES = (HELLO, TRIGGER, READY, RESULT, HIT, STATUS, SHUTDOWN, TIME, HEALTH)
NAMES = {
    HELLO: "HELLO",
    TRIGGER: "TRIGGER",
    READY: "READY",
    RESULT: "RESULT",
    HIT: "HIT",
    STATUS: "STATUS",
    SHUTDOWN: "SHUTDOWN",
    TIME: "TIME",
    HEALTH: "HEALTH",
    ACK: "ACK",
    NACK: "NACK",
}

NACK_BAD = 1  # a frame arrived garbled: retransmit now
NACK_BUSY = 2  # the receiver cannot take it now (e.g. hit queue full): retry after the timeout
NACK_UNKNOWN = 3  # the receiver does not know this message type: give up
NACK_INVALID = 4  # the frame was intact but its body malformed: resending it cannot help

VERDICT_MISS = 0
VERDICT_HIT = 1
VERDICT_ERROR = 2
VERDICT_SKIPPED = 3  # the Pi dropped this trigger (cooldown, queue full)
VERDICT_DONE = 4  # the Pi finished the burst without reporting its verdict

TIME_LEN = 7
TIME_DOUBT_UNKNOWN = 0xFFFF
TIME_SRC_NTP = 0  # the Pi's clock, synchronised (NTP, GPS)
TIME_SRC_CARRIED = 1  # the MCU's clock carried on from an earlier sync
TIME_SRC_NETWORK = 2  # LoRaWAN DeviceTimeAns
TIME_SRC_RTC = 3  # a battery-backed RTC chip

SHUTDOWN_REQUEST = 0
SHUTDOWN_ACK = 1

ROLE_MCU = 0
ROLE_PI = 1

# HEALTH flags: what the Pi's service reports about itself, for the MCU's LoRa heartbeat (a
# peer ignores bits it does not know: a newer Pi may define more)
HEALTH_STORAGE = 0x01  # storage degraded: disk full, read-only or I/O errors (store, outbox)


class FrameError(ValueError):
    """A frame that cannot be decoded; ``reason``: cobs, short, crc, oversize or body."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# CRC and COBS


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as ``binascii.crc_hqx(data, 0xFFFF)``.

    >>> hex(crc16(b"123456789"))
    '0x29b1'
    """
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        crc &= 0xFFFF
    return crc


def cobs_encode(data):
    """COBS without the trailing delimiter: the result holds no zero byte."""
    out = bytearray()
    block = bytearray()
    full = False  # a full 254-byte block that ends the data needs no empty block after it
    for byte in data:
        full = False
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block = bytearray()
            continue
        block.append(byte)
        if len(block) == 254:
            out.append(0xFF)
            out += block
            block = bytearray()
            full = True
    if not full:
        out.append(len(block) + 1)
        out += block
    return bytes(out)


def cobs_decode(data):
    """Inverse of `cobs_encode`; raises FrameError("cobs") on a malformed block."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0 or i + code > n:
            raise FrameError("cobs")
        block = data[i + 1 : i + code]
        if block.find(b"\x00") >= 0:  # MicroPython bytes lack `int in bytes`
            raise FrameError("cobs")
        out += block
        i += code
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Frames


class Msg:
    """One link message: type, sequence number (0..255) and body bytes."""

    def __init__(self, mtype, seq, body=b""):
        self.mtype = mtype
        self.seq = seq
        self.body = bytes(body)

    def __eq__(self, other):
        return (
            isinstance(other, Msg)
            and self.mtype == other.mtype
            and self.seq == other.seq
            and self.body == other.body
        )

    def __repr__(self):
        return f"Msg({NAMES.get(self.mtype, hex(self.mtype))}, {self.seq}, {self.body!r})"


def encode_frame(mtype, seq, body=b""):
    """The wire bytes of one message, delimiter included."""
    if len(body) > MAX_BODY:
        raise ValueError(f"link body too long: {len(body)} > {MAX_BODY}")
    raw = bytes((mtype & 0xFF, seq & 0xFF)) + bytes(body)
    raw += struct.pack(">H", crc16(raw))
    return cobs_encode(raw) + b"\x00"


def decode_frame(encoded):
    """One frame without its delimiter -> Msg; raises FrameError for anything else."""
    if len(encoded) > _MAX_ENCODED:
        raise FrameError("oversize")
    raw = cobs_decode(encoded)
    if len(raw) < 4:
        raise FrameError("short")
    if crc16(raw[:-2]) != struct.unpack(">H", raw[-2:])[0]:
        raise FrameError("crc")
    return Msg(raw[0], raw[1], raw[2:-2])


class Decoder:
    """Streaming decoder: feed any bytes, get whole messages; bad frames are counted.

    ``stats`` counts ``frames`` decoded and each FrameError reason. Garbage, partial frames and
    over-long runs are dropped up to the next 0x00, where decoding resyncs.
    """

    def __init__(self):
        self._buf = bytearray()
        self._overflow = False
        self.stats = {"frames": 0, "cobs": 0, "short": 0, "crc": 0, "oversize": 0}

    def feed(self, data):
        """Returns a list of (Msg or FrameError) in arrival order."""
        out = []
        for byte in data:
            if byte:
                if len(self._buf) < _MAX_ENCODED:
                    self._buf.append(byte)
                else:
                    self._overflow = True
                continue
            if self._overflow or self._buf:
                out.append(self._finish())
        return out

    def _finish(self):
        try:
            if self._overflow:
                raise FrameError("oversize")
            msg = decode_frame(self._buf)
            self.stats["frames"] += 1
            return msg
        except FrameError as e:
            self.stats[e.reason] += 1
            return e
        finally:
            self._buf = bytearray()
            self._overflow = False


# --------------------------------------------------------------------------------------------
# The reliable endpoint


class Link:
    """One end of the link: stop-and-wait with ACK/NACK, retransmit and duplicate filtering.

    ``now`` is milliseconds on a monotonic clock, passed in by the caller. ``accept(msg)`` may
    refuse a data message (answered NACK_BUSY, not delivered), e.g. when the hit queue is full.
    With ``track_acks`` the messages the peer acknowledged collect in ``acked`` (the Pi uses it
    to know that the MCU holds a HIT).
    """

    def __init__(self, ack_timeout_ms=500, retries=3, accept=None, track_acks=False, check=True):
        self.ack_timeout_ms = ack_timeout_ms
        self.retries = retries
        self.accept = accept
        self.check = check  # validate bodies (`body_error`); False only for transport tests
        self.decoder = Decoder()
        self.stats = self.decoder.stats
        for key in ("dup", "nack_rx", "nack_tx", "retries", "tx_failed", "unknown", "busy", "body"):
            self.stats[key] = 0
        self.failed = []  # Msg given up after the retries, oldest first
        self.acked = [] if track_acks else None  # Msg the peer acknowledged (the caller drains)
        self._out = bytearray()
        self._queue = []
        self._inflight: list | None = None  # [Msg, deadline_ms, tries]
        self._tx_seq = 0
        self._rx_last = -1

    def send(self, mtype, body=b"", now=0):
        """Queue a data message; it goes out when the previous one is acknowledged."""
        if mtype not in DATA_TYPES:
            raise ValueError(f"not a data message type: {mtype!r}")
        if len(body) > MAX_BODY:
            raise ValueError(f"link body too long: {len(body)} > {MAX_BODY}")
        self._queue.append((mtype, bytes(body)))
        self._pump(now)

    def reset(self):
        """Forget everything queued or in flight (the peer lost power); stats are kept."""
        self._queue = []
        self._inflight = None
        self._out = bytearray()
        self._rx_last = -1
        self.decoder = Decoder()
        self.decoder.stats = self.stats

    def idle(self):
        """True when nothing is queued or waiting for an ACK."""
        return self._inflight is None and not self._queue

    def pending(self):
        """Data messages queued or in flight, oldest first."""
        head = [self._inflight[0]] if self._inflight else []
        return head + [Msg(t, 0, b) for t, b in self._queue]

    def take_output(self):
        """Bytes to write to the wire now."""
        out = bytes(self._out)
        self._out = bytearray()
        return out

    def feed(self, data, now):
        """Bytes from the wire -> delivered data messages (ACKs are handled here)."""
        delivered = []
        for item in self.decoder.feed(data):
            if isinstance(item, FrameError):
                self._nack(NACK_BAD)
            else:
                msg = self._receive(item, now)
                if msg is not None:
                    delivered.append(msg)
        self._pump(now)
        return delivered

    def poll(self, now):
        """Retransmit or give up when the ACK timeout has passed."""
        flight = self._inflight
        if flight is not None and now >= flight[1]:
            self._retry(now)
        self._pump(now)

    def next_deadline(self):
        """When `poll` next has work, in ms, or None."""
        return self._inflight[1] if self._inflight else None

    # -- internals

    def _receive(self, msg, now):
        if msg.mtype == ACK:
            if self._inflight is not None and msg.seq == self._inflight[0].seq:
                if self.acked is not None:
                    self.acked.append(self._inflight[0])
                self._inflight = None
            return None
        if msg.mtype == NACK:
            self._on_nack(msg, now)
            return None
        if msg.mtype not in DATA_TYPES:
            self.stats["unknown"] += 1
            self._nack(NACK_UNKNOWN)
            return None
        return self._receive_data(msg)

    def _receive_data(self, msg):
        if msg.mtype == HELLO and self._rx_last != 0:
            self._rx_last = -1  # the peer restarted: its sequence numbers start again
        if msg.seq == self._rx_last:
            self.stats["dup"] += 1
            self._emit(ACK, msg.seq)
            return None
        if self.check and body_error(msg.mtype, msg.body) is not None:
            self.stats["body"] += 1
            self._nack(NACK_INVALID)
            return None
        if self.accept is not None and not self.accept(msg):
            self.stats["busy"] += 1
            self._nack(NACK_BUSY)
            return None
        self._rx_last = msg.seq
        self._emit(ACK, msg.seq)
        return msg

    def _on_nack(self, msg, now):
        self.stats["nack_rx"] += 1
        flight = self._inflight
        if flight is None:
            return
        reason = msg.body[0] if msg.body else NACK_BAD
        if reason in (NACK_UNKNOWN, NACK_INVALID):
            self._give_up()
        elif reason == NACK_BUSY:
            flight[1] = now + self.ack_timeout_ms
        else:
            self._retry(now)

    def _retry(self, now):
        flight = self._inflight
        if flight is None:
            return
        if flight[2] >= self.retries:
            self._give_up()
            return
        flight[2] += 1
        flight[1] = now + self.ack_timeout_ms
        self.stats["retries"] += 1
        self._out += encode_frame(flight[0].mtype, flight[0].seq, flight[0].body)

    def _give_up(self):
        if self._inflight is not None:
            self.stats["tx_failed"] += 1
            self.failed.append(self._inflight[0])
        self._inflight = None

    def _pump(self, now):
        if self._inflight is not None or not self._queue:
            return
        mtype, body = self._queue.pop(0)
        if mtype == HELLO:
            seq = 0  # HELLO alone uses seq 0: a repeated HELLO is then a duplicate
        else:
            self._tx_seq = self._tx_seq % 255 + 1  # 1..255
            seq = self._tx_seq
        msg = Msg(mtype, seq, body)
        self._inflight = [msg, now + self.ack_timeout_ms, 0]
        self._out += encode_frame(mtype, msg.seq, body)

    def _emit(self, mtype, seq, body=b""):
        self._out += encode_frame(mtype, seq, body)

    def _nack(self, reason):
        self.stats["nack_tx"] += 1
        self._emit(NACK, 0, bytes((reason,)))


# --------------------------------------------------------------------------------------------
# Message bodies


def _u24(n):
    return bytes(((n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF))


def _get_u24(b, i=0):
    return (b[i] << 16) | (b[i + 1] << 8) | b[i + 2]


def _need(body, n):
    if len(body) < n:
        raise FrameError("short")


def _printable(data):
    return all(0x20 <= byte <= 0x7E for byte in data)


def body_error(mtype, body):
    """None when ``body`` is a well-formed body of a ``mtype`` message, else the reason.

    Checks what the parsers and handlers rely on: the fixed fields are there, codes are ones
    this protocol defines, and text is printable ASCII (MicroPython has no lenient decode).
    Table-driven and short: it is on the MCU's heap for every message.

    >>> body_error(HELLO, hello_body(ROLE_PI, "camtrap-pi")) is None
    True
    >>> body_error(HELLO, bytes((1, 1, 0xFF)))
    'hello version not printable ascii'
    """
    n = len(body)
    if n > MAX_BODY:
        return "body over " + str(MAX_BODY) + " bytes"
    need = STATUS_LEN if mtype == STATUS and n else _MIN_LEN.get(mtype, 0)
    if n < need:
        return NAMES[mtype].lower() + " shorter than " + str(need) + " bytes"
    top = _TOP.get(mtype)
    if top is not None and body[top[0]] > top[1]:
        return NAMES[mtype].lower() + " code " + str(body[top[0]]) + " unknown"
    if mtype == HELLO and not _printable(body[2:]):
        return "hello version not printable ascii"
    if mtype == TIME and n > 4:  # the 7-byte form: its length and its source code
        if n < TIME_LEN:
            return "time of " + str(n) + " bytes: want 4 or " + str(TIME_LEN)
        if body[6] > TIME_SRC_RTC:
            return "time source " + str(body[6]) + " unknown"
    return None


# the fixed fields of each type (STATUS: empty, a request, or all of them)
_MIN_LEN = {HELLO: 2, TRIGGER: 6, RESULT: 4, HIT: 1, SHUTDOWN: 1, TIME: 4, HEALTH: 1, NACK: 1}
# (byte index, highest defined code): HELLO's role, RESULT's verdict, SHUTDOWN's kind
_TOP = {HELLO: (1, ROLE_PI), RESULT: (3, VERDICT_DONE), SHUTDOWN: (0, SHUTDOWN_ACK)}


def _valid(mtype, body):
    # the parsers check too, so a caller that skipped the link's check still cannot crash
    why = body_error(mtype, body)
    if why is not None:
        raise FrameError("short" if "shorter" in why else "body")


def hello_body(role, version):
    return bytes((PROTO_VERSION, role)) + version.encode()[: MAX_BODY - 2]


def parse_hello(body):
    """-> (proto, role, version)"""
    _valid(HELLO, body)
    return body[0], body[1], bytes(body[2:]).decode()


def trigger_body(event_seq, index, battery_mv):
    return _u24(event_seq) + bytes((index & 0xFF,)) + struct.pack(">H", battery_mv & 0xFFFF)


def parse_trigger(body):
    """-> (event_seq, index, battery_mv)"""
    _valid(TRIGGER, body)
    return _get_u24(body), body[3], struct.unpack(">H", body[4:6])[0]


def result_body(event_seq, verdict):
    return _u24(event_seq) + bytes((verdict,))


def parse_result(body):
    """-> (event_seq, verdict)"""
    _valid(RESULT, body)
    return _get_u24(body), body[3]


_STATUS_FMT = ">HbBIIIHB"
STATUS_LEN = struct.calcsize(_STATUS_FMT)
STATUS_LOW_BATTERY = 0x01
STATUS_POWER_GATED = 0x02


def status_body(battery_mv, temp_c, flags, uptime_s, triggers, hits, boot_failures, queued):
    temp = max(-128, min(127, temp_c))
    return struct.pack(
        _STATUS_FMT,
        battery_mv & 0xFFFF,
        temp,
        flags & 0xFF,
        uptime_s & 0xFFFFFFFF,
        triggers & 0xFFFFFFFF,
        hits & 0xFFFFFFFF,
        boot_failures & 0xFFFF,
        min(queued, 255),
    )


def parse_status(body):
    """-> (battery_mv, temp_c, flags, uptime_s, triggers, hits, boot_failures, queued)"""
    _need(body, STATUS_LEN)  # an empty STATUS is a request, valid but not parseable
    return struct.unpack(_STATUS_FMT, body[:STATUS_LEN])


def shutdown_body(kind):
    return bytes((kind,))


def health_body(flags):
    """The Pi's HEALTH: ``flags`` of HEALTH_* (0: all well)."""
    return bytes((flags & 0xFF,))


def time_body(unix_s, uncertainty_s=None, source=TIME_SRC_NTP):
    """A clock reading for the peer: unix seconds, how far off it may be (None: unknown,
    saturating at 18 h), and where it came from (TIME_SRC_*).

    >>> parse_time_full(time_body(1795500000, 2.4, TIME_SRC_NETWORK))
    (1795500000, 3, 2)
    """
    doubt = TIME_DOUBT_UNKNOWN
    if uncertainty_s is not None:
        doubt = min(TIME_DOUBT_UNKNOWN - 1, max(0, int(uncertainty_s + 0.999)))
    return struct.pack(">IHB", int(unix_s) & 0xFFFFFFFF, doubt, source)


def parse_time(body):
    """Unix seconds only (what an old peer sent: 4 bytes)."""
    _valid(TIME, body)
    return struct.unpack(">I", body[:4])[0]


def parse_time_full(body):
    """-> (unix_s, uncertainty_s or None, source); a 4-byte body is the Pi's NTP time."""
    _valid(TIME, body)
    if len(body) < TIME_LEN:
        return struct.unpack(">I", body[:4])[0], None, TIME_SRC_NTP
    unix_s, doubt, source = struct.unpack(">IHB", body[:TIME_LEN])
    return unix_s, (None if doubt == TIME_DOUBT_UNKNOWN else doubt), source
