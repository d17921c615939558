"""Property tests of the link framing (CPython + hypothesis; the portable tests cover the VM)."""

from __future__ import annotations

import binascii

from hypothesis import given, settings
from hypothesis import strategies as st

from trapfw import link

bodies = st.binary(max_size=link.MAX_BODY)
types = st.sampled_from((*link.DATA_TYPES, link.ACK, link.NACK))
seqs = st.integers(0, 255)
frames = st.tuples(types, seqs, bodies)


@given(st.binary(max_size=2000))
def test_crc16_equals_binascii_crc_hqx(data):
    assert link.crc16(data) == binascii.crc_hqx(data, 0xFFFF)


@given(st.binary(max_size=1200))
def test_cobs_round_trips_and_never_emits_a_zero(data):
    enc = link.cobs_encode(data)
    assert 0 not in enc
    assert link.cobs_decode(enc) == data
    assert len(enc) <= len(data) + 1 + len(data) // 254


@given(frames)
def test_frame_round_trip(frame):
    mtype, seq, body = frame
    wire = link.encode_frame(mtype, seq, body)
    assert link.decode_frame(wire[:-1]) == link.Msg(mtype, seq, body)


@given(st.binary(max_size=300))
def test_random_bytes_give_a_message_or_the_codecs_own_error(data):
    try:
        msg = link.decode_frame(data)
    except link.FrameError as e:
        assert e.reason in ("cobs", "short", "crc", "oversize")
    else:
        assert isinstance(msg, link.Msg)


@given(st.lists(frames, max_size=8), st.lists(st.integers(1, 40), min_size=1, max_size=50))
def test_byte_stream_split_anywhere_gives_the_same_messages(fs, cuts):
    wire = b"".join(link.encode_frame(*f) for f in fs)
    dec = link.Decoder()
    got, at, i = [], 0, 0
    while at < len(wire):
        n = cuts[i % len(cuts)]
        got += dec.feed(wire[at : at + n])
        at, i = at + n, i + 1
    assert got == [link.Msg(*f) for f in fs]


@settings(max_examples=200)
@given(st.lists(st.tuples(st.binary(max_size=120), frames), max_size=6))
def test_frames_after_garbage_and_a_delimiter_are_recovered(chunks):
    dec = link.Decoder()
    wire = b"".join(junk + b"\x00" + link.encode_frame(*f) for junk, f in chunks)
    out = dec.feed(wire)
    msgs = [m for m in out if isinstance(m, link.Msg)]
    want = [link.Msg(*f) for _, f in chunks]
    # Garbage may by chance decode as a frame too (CRC collision ~1/65536); the real frames
    # all come through, in order.
    it = iter(msgs)
    assert all(any(m == w for m in it) for w in want)
    assert all(isinstance(x, (link.Msg, link.FrameError)) for x in out)


NOT_HELLO = [t for t in link.DATA_TYPES if t != link.HELLO]  # back-to-back HELLOs are one


@settings(max_examples=100)
@given(st.lists(st.tuples(st.sampled_from(NOT_HELLO), bodies), max_size=6), st.data())
def test_two_links_over_a_lossy_wire_deliver_everything_once_in_order(msgs, data):
    a, b = link.Link(ack_timeout_ms=10, retries=50), link.Link(check=False)
    for mtype, body in msgs:
        a.send(mtype, body, 0)
    got = []
    for now in range(0, 3000, 5):
        wire = a.take_output()
        if wire and data.draw(st.booleans(), label="corrupt a->b"):
            i = data.draw(st.integers(0, len(wire) - 1))
            wire = wire[:i] + bytes([wire[i] ^ 0x5A]) + wire[i + 1 :]
        got += b.feed(wire, now)
        back = b.take_output()
        if back and data.draw(st.booleans(), label="drop b->a"):
            back = b""
        a.feed(back, now)
        a.poll(now)
        if a.idle():
            break
    assert a.failed == []
    assert [(m.mtype, m.body) for m in got] == list(msgs)
