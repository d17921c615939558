"""The link codec and endpoint: FACTS.md vectors, resync, ACK/NACK and retransmit.

Portable: runs under CPython (pytest) and under the MicroPython VM (test_fw_micropython.py).
"""

from fwkit import Lcg

from trapfw import link


def test_crc16_matches_the_ccitt_false_vector():
    assert link.crc16(b"123456789") == 0x29B1


def test_cobs_matches_the_facts_vectors():
    vectors = (
        (b"\x11\x22\x00\x33", "031122023300"),
        (b"\x00", "010100"),
        (b"\x11\x00\x00\x00", "021101010100"),
    )
    for data, wire in vectors:
        assert link.cobs_encode(data) + b"\x00" == bytes.fromhex(wire)
        assert link.cobs_decode(bytes.fromhex(wire)[:-1]) == data


def test_cobs_254_nonzero_bytes_is_one_full_block():
    data = bytes(range(1, 255))
    assert link.cobs_encode(data) == b"\xff" + data


def test_cobs_round_trips_every_length_with_zeros_anywhere():
    rnd = Lcg(1)
    for n in [0, 1, 2, 3, 5, 8, 13, 19, 253, 254, 255, 256, 508, 509, 600]:
        data = bytes(rnd.below(3) and rnd.below(256) for _ in range(n))
        enc = link.cobs_encode(data)
        assert 0 not in enc
        assert link.cobs_decode(enc) == data


def test_frame_round_trips_type_seq_and_body():
    wire = link.encode_frame(link.HIT, 200, b"\x01\x02\x00\x03")
    assert wire[-1] == 0 and 0 not in wire[:-1]
    msg = link.decode_frame(wire[:-1])
    assert msg == link.Msg(link.HIT, 200, b"\x01\x02\x00\x03")


def test_decoder_drops_garbage_and_resyncs_on_the_next_frame():
    dec = link.Decoder()
    frame = link.encode_frame(link.READY, 1)
    out = dec.feed(b"\x13\x37garbage\x00" + frame)
    msgs = [m for m in out if isinstance(m, link.Msg)]
    assert msgs == [link.Msg(link.READY, 1)]
    assert dec.stats["frames"] == 1
    assert dec.stats["cobs"] + dec.stats["crc"] + dec.stats["short"] == 1


def test_decoder_counts_a_flipped_bit_as_a_crc_error():
    wire = bytearray(link.encode_frame(link.RESULT, 5, link.result_body(42, 1)))
    wire[3] ^= 0x04
    dec = link.Decoder()
    out = dec.feed(bytes(wire))
    assert len(out) == 1 and isinstance(out[0], link.FrameError)
    assert dec.stats["crc"] + dec.stats["cobs"] == 1


def test_decoder_byte_at_a_time_gives_the_same_frames():
    frames = [link.encode_frame(t, i, bytes([i] * i)) for i, t in enumerate(link.DATA_TYPES)]
    wire = b"".join(frames)
    dec = link.Decoder()
    got = []
    for i in range(len(wire)):
        got += dec.feed(wire[i : i + 1])
    assert [m.seq for m in got] == list(range(len(frames)))


def test_decoder_drops_an_over_long_run_and_counts_it():
    dec = link.Decoder()
    out = dec.feed(b"\x05" * 500 + b"\x00" + link.encode_frame(link.READY, 9))
    assert isinstance(out[0], link.FrameError) and out[0].reason == "oversize"
    assert out[1] == link.Msg(link.READY, 9)
    assert dec.stats["oversize"] == 1


def test_random_bytes_give_messages_or_the_codec_error_and_never_raise():
    rnd = Lcg(7)
    dec = link.Decoder()
    for _ in range(200):
        for item in dec.feed(rnd.bytes(rnd.below(40))):
            assert isinstance(item, (link.Msg, link.FrameError))


def _pair(**kw):
    return link.Link(**kw), link.Link(**kw)


def test_link_delivers_once_and_acknowledges():
    a, b = _pair()
    a.send(link.TRIGGER, link.trigger_body(42, 0, 3700), 0)
    wire = a.take_output()
    got = b.feed(wire, 0)
    assert [m.mtype for m in got] == [link.TRIGGER]
    assert link.parse_trigger(got[0].body) == (42, 0, 3700)
    a.feed(b.take_output(), 1)
    assert a.idle()


def test_link_duplicate_is_reacked_but_not_delivered_twice():
    a, b = _pair()
    a.send(link.HIT, b"hit", 0)
    wire = a.take_output()
    assert len(b.feed(wire, 0)) == 1
    assert b.feed(wire, 1) == []  # the sender missed our ACK and sent it again
    assert b.stats["dup"] == 1
    assert b.take_output().count(b"\x00") == 2  # two ACKs


def test_link_retransmits_after_the_timeout_then_gives_up():
    a = link.Link(ack_timeout_ms=100, retries=2)
    a.send(link.READY, b"", 0)
    first = a.take_output()
    a.poll(99)
    assert a.take_output() == b""
    a.poll(100)
    assert a.take_output() == first
    a.poll(200)
    a.poll(300)
    assert a.stats["retries"] == 2
    assert [m.mtype for m in a.failed] == [link.READY]
    assert a.idle()


def test_link_garbled_frame_gets_a_nack_and_an_immediate_retransmit():
    a, b = _pair()
    a.send(link.HIT, b"\x01" * 11, 0)
    wire = bytearray(a.take_output())
    wire[5] ^= 0xFF
    assert b.feed(bytes(wire), 0) == []
    assert b.stats["nack_tx"] == 1
    a.feed(b.take_output(), 1)
    assert a.stats["nack_rx"] == 1
    got = b.feed(a.take_output(), 2)
    assert [m.body for m in got] == [b"\x01" * 11]


def test_link_refused_message_gets_busy_nack_and_is_retried_later():
    a = link.Link(ack_timeout_ms=100)
    b = link.Link(accept=lambda m: False)
    a.send(link.HIT, b"x", 0)
    assert b.feed(a.take_output(), 0) == []
    a.feed(b.take_output(), 1)
    assert a.take_output() == b""  # not at once
    a.poll(101)
    assert a.take_output() != b""


def test_link_keeps_order_one_message_in_flight():
    a, b = _pair()
    for i in range(3):
        a.send(link.RESULT, link.result_body(i, 0), 0)
    seen = []
    for t in range(5):
        seen += [link.parse_result(m.body)[0] for m in b.feed(a.take_output(), t)]
        a.feed(b.take_output(), t)
    assert seen == [0, 1, 2]


def test_hello_resets_duplicate_filtering_after_a_peer_restart():
    a, b = _pair()
    a.send(link.READY, b"", 0)
    b.feed(a.take_output(), 0)
    a2 = link.Link()  # the peer rebooted: its sequence starts again at 1
    a2.send(link.HELLO, link.hello_body(link.ROLE_PI, "x"), 0)
    assert len(b.feed(a2.take_output(), 1)) == 1
    a2.feed(b.take_output(), 1)
    a2.send(link.READY, b"", 2)
    assert len(b.feed(a2.take_output(), 2)) == 1


def test_bodies_round_trip():
    assert link.parse_hello(link.hello_body(link.ROLE_PI, "1.2")) == (1, 1, "1.2")
    assert link.parse_result(link.result_body(0xFFFFFF, link.VERDICT_HIT)) == (0xFFFFFF, 1)
    assert link.parse_time(link.time_body(1795000000)) == 1795000000
    st = link.parse_status(link.status_body(3700, -5, 3, 86400, 10, 2, 1, 4))
    assert tuple(st) == (3700, -5, 3, 86400, 10, 2, 1, 4)


def test_short_bodies_raise_the_codec_error():
    for parse in (link.parse_trigger, link.parse_result, link.parse_status, link.parse_time):
        try:
            parse(b"\x01")
        except link.FrameError as e:
            assert e.reason == "short"
        else:
            raise AssertionError("no error")
