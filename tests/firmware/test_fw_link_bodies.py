"""Body validation of CRC-valid frames on the MCU side: `link.body_error`, the link, `App.poll`.

CPython with hypothesis, plus the 100,000-frame volume run of `linkfuzz.fuzz_app` (the same
trapfw code the MCU runs); test_fw_micropython.py runs the smaller portable run in the VM.
"""

from __future__ import annotations

import pytest
from fwkit import FakeHw, cfg
from hypothesis import given, settings
from hypothesis import strategies as st
from linkfuzz import TYPES, fuzz_app

from trapfw import app, link, state

PARSERS = {
    link.HELLO: link.parse_hello,
    link.TRIGGER: link.parse_trigger,
    link.RESULT: link.parse_result,
    link.TIME: link.parse_time,
}


@pytest.mark.parametrize(
    ("mtype", "body", "reason"),
    [
        (link.HELLO, b"\x01\x01\xff\xfe", "hello version not printable ascii"),
        (link.HELLO, b"\x01\x01cam\ntrap", "hello version not printable ascii"),
        (link.HELLO, b"\x01", "hello shorter than 2 bytes"),
        (link.HELLO, b"\x01\x07pi", "hello code 7 unknown"),
        (link.TRIGGER, b"\x00\x00\x01\x00\x0e", "trigger shorter than 6 bytes"),
        (link.RESULT, b"\x00\x00\x01\x09", "result code 9 unknown"),
        (link.RESULT, b"\x00\x01", "result shorter than 4 bytes"),
        (link.STATUS, b"\x0e\x74", f"status shorter than {link.STATUS_LEN} bytes"),
        (link.SHUTDOWN, b"", "shutdown shorter than 1 bytes"),
        (link.SHUTDOWN, b"\x05", "shutdown code 5 unknown"),
        (link.TIME, b"\x01\x02", "time shorter than 4 bytes"),
        (link.HIT, b"", "hit shorter than 1 bytes"),
    ],
)
def test_each_type_names_what_is_wrong_with_its_body(mtype, body, reason):
    assert link.body_error(mtype, body) == reason


@pytest.mark.parametrize(
    ("mtype", "body"),
    [
        (link.HELLO, link.hello_body(link.ROLE_MCU, "trapfw 1.2")),
        (link.TRIGGER, link.trigger_body(42, 0, 3700)),
        (link.RESULT, link.result_body(42, link.VERDICT_DONE)),
        (link.STATUS, b""),
        (link.STATUS, link.status_body(3700, 21, 0, 5, 1, 1, 0, 0)),
        (link.SHUTDOWN, link.shutdown_body(link.SHUTDOWN_ACK)),
        (link.TIME, link.time_body(1_790_000_000) + b"\x01"),  # a newer peer's extra byte
        (link.READY, b""),
    ],
)
def test_well_formed_bodies_pass(mtype, body):
    assert link.body_error(mtype, body) is None


def test_a_bad_body_is_counted_nacked_invalid_and_not_delivered():
    a, b = link.Link(), link.Link()
    b.feed(link.encode_frame(link.HELLO, 0, b"\x01\x00\xc3\x28"), 0)  # not UTF-8
    out = link.Decoder().feed(b.take_output())
    assert out == [link.Msg(link.NACK, 0, bytes((link.NACK_INVALID,)))]
    assert b.stats["body"] == 1 and b.stats["nack_tx"] == 1
    # the sender gives up at once: resending the same bytes cannot help
    a.send(link.RESULT, b"\x00\x00\x01\x63", 0)
    got = b.feed(a.take_output(), 0)
    assert got == []
    a.feed(b.take_output(), 1)
    assert a.idle() and a.stats["tx_failed"] == 1 and [m.mtype for m in a.failed] == [link.RESULT]


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(TYPES), st.integers(0, 255), st.binary(max_size=link.MAX_BODY))
def test_a_crc_valid_frame_is_delivered_parseable_or_rejected(mtype, seq, body):
    rx = link.Link()
    delivered = rx.feed(link.encode_frame(mtype, seq, body), 0)
    for msg in delivered:
        assert link.body_error(msg.mtype, msg.body) is None
        parse = PARSERS.get(msg.mtype)
        if parse is not None:
            parse(msg.body)  # must not raise
    if link.body_error(mtype, body) is not None and mtype in link.DATA_TYPES:
        assert delivered == []


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TYPES), st.integers(0, 255), st.binary(max_size=64))))
def test_app_poll_never_raises_on_crc_valid_frames(frames):
    hw = FakeHw()
    fw = app.App(hw, cfg(), state.Ring(state.MemSlots()), app.NullRadio())
    fw.start(0, "cold")
    hw.pir = True
    for i, (mtype, seq, body) in enumerate(frames):
        hw.rx += link.encode_frame(mtype, seq, body)
        hw.t = 10 * (i + 1)
        fw.poll(hw.t)
    assert fw.link.stats.get("handler", 0) == 0


def test_app_guard_keeps_the_loop_running_when_a_handler_raises():
    hw = FakeHw()
    fw = app.App(hw, cfg(), state.Ring(state.MemSlots()), app.NullRadio())
    fw.start(0, "cold")

    def boom(msg, now):
        raise KeyError(msg.mtype)

    fw._on_message = boom  # type: ignore[method-assign]
    hw.rx += link.encode_frame(link.READY, 1, b"")
    fw.poll(5)  # must not raise
    assert fw.link.stats["handler"] == 1
    assert fw.faults[-1] == (5, "handler:KeyError")


def test_100000_random_crc_valid_frames_into_the_mcu_app_raise_nothing():
    got = fuzz_app(100_000, seed=12)
    assert got["frames"] == 100_000
    assert got["uncaught"] == 0, got
    assert got["handler"] == 0, got
    assert 0 < got["body"] < got["decoded"], got
