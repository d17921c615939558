"""The Pi's link adapter against the MCU firmware's loop: in memory, then over a real pty.

One codec on both sides (trapfw.link), so these pin the protocol as a peer pair: the Pi-side
`McuLink` / `McuTriggerSource` / `McuHitPublisher` talk to the firmware's `App` with its state
machine, link and persistent ring.
"""

from __future__ import annotations

import os
import sys
import threading
import tty
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "firmware"))

from fwkit import FakeHw, cfg  # pyright: ignore[reportMissingImports]

from camtrap.adapters import mcu_hits, mcu_link, mcu_trigger
from camtrap.core.types import Hit
from trapfw import app, link, payload, state


class ManualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return 1_795_000_000 + self.t

    def monotonic(self) -> float:
        return self.t


class MemPort:
    """The Pi's serial port in memory: writes land in the MCU's receive buffer."""

    def __init__(self, hw: FakeHw) -> None:
        self.hw = hw

    def read(self, size: int = 1) -> bytes:
        return b""

    def write(self, data: bytes, /) -> int:
        self.hw.rx += data
        return len(data)

    def close(self) -> None:
        pass


class MemOutbox:
    def __init__(self, hits: list[Hit]) -> None:
        self.hits = {h.event_id: h for h in hits}
        self.sent: list[str] = []

    def pending(self, sink: str, limit: int = 100) -> list[Hit]:
        return [h for h in self.hits.values() if h.event_id not in self.sent]

    def mark_sent(self, event_id: str, sink: str) -> None:
        self.sent.append(event_id)


class HoldRadio(app.NullRadio):
    """A radio that never gets a chance to send: queued hits stay queued."""

    def poll(self, now, battery_mv):
        return []


def _wire(hw, fw, mcu, clock, steps=5):
    for _ in range(steps):
        clock.t += 0.01
        now = int(clock.t * 1000)
        hw.t = now
        fw.poll(now)
        data, hw.tx = bytes(hw.tx), bytearray()
        mcu.pump(data)


def test_a_power_gated_event_between_the_pi_adapter_and_the_firmware():
    clock = ManualClock()
    hw = FakeHw()
    fw = app.App(hw, cfg(), state.Ring(state.MemSlots()), HoldRadio())
    fw.start(int(clock.t * 1000), "cold")
    mcu = mcu_link.McuLink(MemPort(hw), clock)
    halted = threading.Event()
    src = mcu_trigger.McuTriggerSource(
        mcu, "trap-07", clock, frame_interval_s=0.5, halt=halted.set, hold_s=1.0
    )
    mcu.send(link.HELLO, link.hello_body(link.ROLE_PI, "test"))
    hw.pir = True
    _wire(hw, fw, mcu, clock)
    assert hw.power == 1 and fw.state.name == "booting"
    assert src.wait(0) is None  # sends READY
    _wire(hw, fw, mcu, clock)
    meta = src.wait(0)
    assert meta is not None and (meta.source, meta.event_seq) == ("mcu", 1)
    assert fw.state.name == "burst"

    outbox = MemOutbox([Hit("trap-07-1", 1, "trap-07", clock.now(), "leopard", 0.9, 3, 4)])
    sink = mcu_hits.McuHitPublisher(outbox, mcu, clock)
    sink.drain()
    _wire(hw, fw, mcu, clock)
    sink.drain()
    assert outbox.sent == ["trap-07-1"]  # marked only after the MCU's ACK
    assert payload.decode_hit(fw.state.queue[0])["event_seq"] == 1

    src.report(meta, "trap-07-1", type("R", (), {"verdict": type("V", (), {"decision": "hit"})}))
    _wire(hw, fw, mcu, clock)
    assert fw.state.name == "shutdown"
    assert halted.wait(5)  # the adapter acked SHUTDOWN and ran the halt command
    _wire(hw, fw, mcu, clock)
    assert fw.state.acked
    hw.halt = True
    _wire(hw, fw, mcu, clock)
    assert hw.power == 0 and fw.state.name == "sleep"
    assert mcu.bad_frames() == 0


def test_health_reports_reach_the_firmware_once_per_change():
    clock = ManualClock()
    hw = FakeHw()
    fw = app.App(hw, cfg(mode="always-on"), state.Ring(state.MemSlots()), app.NullRadio())
    fw.start(int(clock.t * 1000), "cold")
    mcu = mcu_link.McuLink(MemPort(hw), clock)
    report = mcu_link.HealthReport(mcu)
    report("disk full: no space left on device")
    _wire(hw, fw, mcu, clock)
    assert fw.state.storage_fault and mcu.idle()
    report("read-only: attempt to write a readonly database")  # still a fault: nothing sent
    assert mcu.idle()
    report(None)
    _wire(hw, fw, mcu, clock)
    assert not fw.state.storage_fault
    assert state.Ring(fw.ring.slots).load()["storage_fault"] is False  # saved at the change


def test_garbage_on_the_wire_is_counted_on_the_pi_side_and_the_link_recovers():
    clock = ManualClock()
    hw = FakeHw()
    fw = app.App(hw, cfg(mode="always-on"), state.Ring(state.MemSlots()), app.NullRadio())
    fw.start(int(clock.t * 1000), "cold")
    mcu = mcu_link.McuLink(MemPort(hw), clock)
    statuses: list[tuple] = []
    mcu.on(link.STATUS, lambda m: statuses.append(tuple(link.parse_status(m.body))))
    mcu.pump(b"\x42\x42\x00\x01\x00")  # garbage, then an empty-ish frame
    assert mcu.bad_frames() == 2
    mcu.send(link.STATUS)  # a STATUS request
    _wire(hw, fw, mcu, clock)
    assert statuses and statuses[0][0] == 3900


def test_a_full_trigger_queue_answers_skipped_so_the_mcu_can_shut_down():
    clock = ManualClock()
    sent: list[bytes] = []

    class Port(MemPort):
        def write(self, data: bytes, /) -> int:
            sent.append(data)
            return len(data)

    mcu = mcu_link.McuLink(Port(FakeHw()), clock)
    src = mcu_trigger.McuTriggerSource(mcu, "trap-07", clock, frame_interval_s=0.5, max_queued=1)
    mcu.pump(link.encode_frame(link.TRIGGER, 1, link.trigger_body(5, 0, 3700)))
    mcu.pump(link.encode_frame(link.TRIGGER, 2, link.trigger_body(6, 1, 3700)))
    assert src.skipped == src.overflowed == 1  # the app counts it in triggers_dropped
    assert src.counters()["battery_mv"] == 3700  # the MCU's reading, for telemetry
    dec = link.Decoder()
    results = [link.parse_result(m.body) for m in dec.feed(b"".join(sent)) if m.mtype == 4]
    assert results == [(6, link.VERDICT_SKIPPED)]


def test_a_trigger_from_the_mcu_records_the_pir_pulse_at_the_trigger_like_the_gpio_pir():
    clock = ManualClock()
    mcu = mcu_link.McuLink(MemPort(FakeHw()), clock)
    src = mcu_trigger.McuTriggerSource(mcu, "trap-07", clock, frame_interval_s=0.5)
    src._ready_sent = True
    mcu.pump(link.encode_frame(link.TRIGGER, 1, link.trigger_body(5, 0, 3700)))
    meta = src.wait(0)
    assert meta is not None and meta.pir_pulses == (0.0,)


class PtyHw(FakeHw):
    """The MCU's side of a real pty: UART reads and writes go through the master fd."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def pi_read(self):
        try:
            return os.read(self.fd, 512)
        except BlockingIOError:
            return None

    def pi_write(self, data):
        os.write(self.fd, data)


def test_pyserial_adapter_over_a_real_pty_runs_an_event():
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    name = os.ttyname(slave)

    class Clock:
        def now(self) -> float:
            import time

            return time.time()

        def monotonic(self) -> float:
            import time

            return time.monotonic()

    clock = Clock()
    hw = PtyHw(master)
    fw = app.App(hw, cfg(), state.Ring(state.MemSlots()), app.NullRadio())
    mcu = mcu_link.McuLink(mcu_link.open_serial(name, 115200), clock)
    halted = threading.Event()
    src = mcu_trigger.McuTriggerSource(
        mcu, "trap-07", clock, frame_interval_s=0.5, halt=halted.set, hold_s=2.0
    )
    stop = threading.Event()

    def mcu_loop():
        fw.start(int(clock.monotonic() * 1000), "pir")
        while not stop.is_set():
            hw.halt = halted.is_set()
            fw.poll(int(clock.monotonic() * 1000))
            stop.wait(0.005)

    thread = threading.Thread(target=mcu_loop, daemon=True)
    try:
        src.start()
        thread.start()
        meta = None
        for _ in range(400):
            meta = src.wait(0.02)
            if meta is not None:
                break
        assert meta is not None, f"no trigger over the pty; stats {mcu.stats}"
        assert (meta.source, meta.event_seq) == ("mcu", 1)
        src.report(meta, "trap-07-1", None)  # verdict unknown -> "error"
        assert halted.wait(10), f"no shutdown request; MCU in {fw.state.name}"
        for _ in range(400):
            if hw.power == 0:
                break
            stop.wait(0.01)
        assert hw.power == 0 and fw.state.name == "sleep"
        assert mcu.bad_frames() == 0
    finally:
        stop.set()
        thread.join(timeout=2)
        src.close()
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("decision, code", [("hit", 1), ("miss", 0), ("error", 2)])
def test_report_maps_the_verdict_to_the_result_code(decision, code):
    sent: list[bytes] = []

    class Port(MemPort):
        def write(self, data: bytes, /) -> int:
            sent.append(data)
            return len(data)

    clock = ManualClock()
    mcu = mcu_link.McuLink(Port(FakeHw()), clock)
    src = mcu_trigger.McuTriggerSource(mcu, "trap-07", clock, frame_interval_s=0.5)
    src._ready_sent = True
    mcu.pump(link.encode_frame(link.TRIGGER, 1, link.trigger_body(9, 0, 3700)))
    meta = src.wait(0)
    assert meta is not None
    sent.clear()
    verdict = type("V", (), {"decision": decision})
    src.report(meta, "trap-07-9", type("R", (), {"verdict": verdict}))
    msgs = link.Decoder().feed(b"".join(sent))
    assert [link.parse_result(m.body) for m in msgs] == [(9, code)]


def test_hit_sink_marks_a_hit_sent_only_after_the_mcu_acknowledged_it():
    clock = ManualClock()
    hw = FakeHw()
    fw = app.App(hw, cfg(mode="always-on"), state.Ring(state.MemSlots()), HoldRadio())
    fw.start(int(clock.t * 1000), "cold")
    mcu = mcu_link.McuLink(MemPort(hw), clock)
    outbox = MemOutbox([Hit("trap-07-5", 5, "trap-07", clock.now(), "leopard", 0.9, 3, 4)])
    sink = mcu_hits.McuHitPublisher(outbox, mcu, clock)
    sink.drain()
    sink.drain()  # in flight: not sent twice
    assert outbox.sent == []
    hw.rx[-4] ^= 0x10  # garble the HIT on the wire
    _wire(hw, fw, mcu, clock)  # NACK -> retransmit -> ACK
    sink.drain()
    assert outbox.sent == ["trap-07-5"]
    assert fw.state.queue and payload.decode_hit(fw.state.queue[0])["event_seq"] == 5
    assert fw.link.stats["crc"] + fw.link.stats["cobs"] == 1, fw.link.stats


def test_an_unreported_burst_is_closed_with_done_when_the_app_asks_for_more():
    clock = ManualClock()
    sent: list[bytes] = []

    class Port(MemPort):
        def write(self, data: bytes, /) -> int:
            sent.append(data)
            return len(data)

    mcu = mcu_link.McuLink(Port(FakeHw()), clock)
    src = mcu_trigger.McuTriggerSource(mcu, "trap-07", clock, frame_interval_s=0.5)
    src._ready_sent = True  # READY would hold the line until the MCU acknowledged it
    mcu.pump(link.encode_frame(link.TRIGGER, 1, link.trigger_body(3, 0, 3700)))
    assert src.wait(0) is not None
    sent.clear()
    assert src.wait(0) is None
    msgs = link.Decoder().feed(b"".join(sent))
    assert [link.parse_result(m.body) for m in msgs] == [(3, link.VERDICT_DONE)]
