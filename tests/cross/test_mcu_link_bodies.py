"""The Pi's link reader against CRC-valid frames with bad bodies, and its supervision.

The issue's probe: a HELLO whose version bytes are not UTF-8 killed the reader thread silently
(4,550 crashes in 90,000 random CRC-valid frames). Here every type's body is fuzzed through
`McuLink.pump` with the real `McuTriggerSource` and `McuHitPublisher` handlers attached: 100,000
frames, 0 exceptions, 0 handler errors; and a reader thread that hits an unexpected error keeps
reading, while one whose port fails makes the next `wait` raise.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "firmware"))

from fwkit import Lcg  # pyright: ignore[reportMissingImports]
from linkfuzz import TYPES, random_frame  # pyright: ignore[reportMissingImports]

from camtrap.adapters import mcu_hits, mcu_link, mcu_trigger
from camtrap.errors import LinkError
from trapfw import link


class ManualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return 1_795_000_000 + self.t

    def monotonic(self) -> float:
        return self.t


class NullPort:
    """A port that reads nothing and swallows writes (the test calls `pump` itself)."""

    def __init__(self) -> None:
        self.written = 0

    def read(self, size: int = 1) -> bytes:
        threading.Event().wait(0.01)
        return b""

    def write(self, data: bytes, /) -> int:
        self.written += len(data)
        return len(data)

    def close(self) -> None:
        return None


class EmptyOutbox:
    def pending(self, sink: str) -> list[object]:
        return []

    def mark_sent(self, event_id: str, sink: str) -> None:
        return None


def _pi(max_queued: int = 4) -> tuple[mcu_link.McuLink, mcu_trigger.McuTriggerSource, ManualClock]:
    clock = ManualClock()
    mcu = mcu_link.McuLink(NullPort(), clock)
    src = mcu_trigger.McuTriggerSource(
        mcu, "trap-07", clock, frame_interval_s=0.5, max_queued=max_queued
    )
    mcu_hits.McuHitPublisher(EmptyOutbox(), mcu, clock)
    src.halting.set()  # a SHUTDOWN request would start the halt thread; its body is checked
    return mcu, src, clock


def test_a_hello_with_non_utf8_version_is_a_counted_bad_frame_and_the_next_trigger_is_seen():
    mcu, src, _ = _pi()
    mcu.pump(link.encode_frame(link.HELLO, 0, b"\x01\x00\xc3\x28\xff"))
    assert mcu.stats["body"] == 1 and mcu.bad_frames() == 1
    mcu.pump(link.encode_frame(link.TRIGGER, 1, link.trigger_body(7, 0, 3700)))
    meta = src.wait(0)
    assert meta is not None and meta.event_seq == 7
    assert src.counters()["link_bad_frames"] == 1
    assert src.counters()["link_handler_errors"] == 0


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TYPES), st.integers(0, 255), st.binary(max_size=64)), max_size=12
    )
)
def test_pump_never_raises_on_crc_valid_frames(frames):
    mcu, src, clock = _pi()
    for mtype, seq, body in frames:
        clock.t += 0.1
        mcu.pump(link.encode_frame(mtype, seq, body))
        src.wait(0)
    assert mcu.handler_errors == 0


def test_100000_random_crc_valid_frames_into_the_pi_reader_raise_nothing():
    mcu, src, clock = _pi(max_queued=2)
    rng = Lcg(90_000)
    uncaught = 0
    for i in range(100_000):
        clock.t += 0.001 * (1 + rng.below(400))
        try:
            mcu.pump(random_frame(rng)[3])
            if i % 3 == 0:
                src.wait(0)
        except Exception:
            uncaught += 1
    stats = mcu.stats
    assert uncaught == 0
    assert mcu.handler_errors == 0
    assert stats["frames"] == 100_000
    assert 0 < stats["body"] < stats["frames"]


class FlakyPort(NullPort):
    """Reads: one frame whose handler will raise, then a TRIGGER, then a dead port."""

    def __init__(self, frames: list[bytes | Exception]) -> None:
        super().__init__()
        self.frames = frames

    def read(self, size: int = 1) -> bytes:
        if not self.frames:
            threading.Event().wait(0.01)
            return b""
        item = self.frames.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def _wait_until(cond, limit_s: float = 5.0) -> bool:
    for _ in range(int(limit_s / 0.01)):
        if cond():
            return True
        threading.Event().wait(0.01)
    return cond()


def test_the_reader_thread_survives_a_handler_bug_and_reports_it():
    clock = ManualClock()
    port = FlakyPort(
        [
            link.encode_frame(link.STATUS, 1, link.status_body(3600, 20, 0, 1, 1, 0, 0, 0)),
            link.encode_frame(link.TRIGGER, 2, link.trigger_body(11, 0, 3700)),
        ]
    )
    mcu = mcu_link.McuLink(port, clock)
    src = mcu_trigger.McuTriggerSource(mcu, "trap-07", clock, frame_interval_s=0.5)

    def broken(msg: link.Msg) -> None:
        raise RuntimeError("a handler bug")

    mcu.on(link.STATUS, broken)
    mcu.start()
    try:
        assert _wait_until(lambda: src._queue.qsize() == 1)
        meta = src.wait(0)
        assert meta is not None and meta.event_seq == 11
        assert src.counters()["link_handler_errors"] == 1
    finally:
        mcu.close()


def test_the_reader_thread_survives_a_codec_error_and_counts_a_restart():
    clock = ManualClock()
    port = FlakyPort([b"\x00", link.encode_frame(link.TRIGGER, 2, link.trigger_body(12, 0, 1))])
    mcu = mcu_link.McuLink(port, clock)
    src = mcu_trigger.McuTriggerSource(mcu, "trap-07", clock, frame_interval_s=0.5)
    real_feed = mcu._link.feed
    calls = []

    def feed_once_broken(data: bytes, now: int) -> list[link.Msg]:
        calls.append(data)
        if len(calls) == 1:
            raise MemoryError("simulated")
        return real_feed(data, now)

    mcu._link.feed = feed_once_broken  # type: ignore[method-assign]
    mcu.start()
    try:
        assert _wait_until(lambda: src._queue.qsize() == 1)
        assert mcu.reader_restarts == 1
        assert src.counters()["link_reader_restarts"] == 1
    finally:
        mcu.close()


def test_a_failed_port_makes_the_next_wait_fail_loudly():
    clock = ManualClock()
    port = FlakyPort([OSError(5, "Input/output error")])
    mcu = mcu_link.McuLink(port, clock)
    src = mcu_trigger.McuTriggerSource(mcu, "trap-07", clock, frame_interval_s=0.5)
    src._ready_sent = True
    mcu.start()
    try:
        assert _wait_until(lambda: mcu.dead is not None)
        with pytest.raises(LinkError, match=r"read failed: .*Input/output error"):
            src.wait(0)
    finally:
        mcu.close()
