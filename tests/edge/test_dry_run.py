"""Dry-run sink: prints would-be publications and marks hits sent."""

from __future__ import annotations

import io
import json

from camtrap.adapters.dry_run import DryRunPublisher
from camtrap.adapters.outbox import Outbox
from camtrap.core.types import Hit
from camtrap.sim.clock import ManualClock

T0 = 1795500000.0


def hit(seq: int) -> Hit:
    return Hit(f"trap-07-{seq}", seq, "trap-07", T0, "leopard", 0.93, 3, 4, "m@1")


def test_drain_prints_each_pending_hit_as_would_publish_and_marks_it_sent(tmp_path):
    box, out = Outbox(tmp_path / "o.db", sinks=("mqtt", "lora")), io.StringIO()
    for s in (1, 2):
        box.add(hit(s))
    sink = DryRunPublisher(box, out, device_id="trap-07", clock=ManualClock(now=T0 + 5))
    assert sink.drain() == 2
    assert sink.drain() == 0
    printed = out.getvalue().splitlines()
    assert len(printed) == 2
    assert all(p.startswith("would publish camtrap/trap-07/hit {") for p in printed)
    bodies = [json.loads(p.split(" ", 3)[3]) for p in printed]
    assert [b["event_id"] for b in bodies] == ["trap-07-1", "trap-07-2"]
    assert bodies[0]["age_s"] == 5 and bodies[0]["v"] == 1
    assert box.count_pending("mqtt") == 0 and box.count_pending("lora") == 2  # only its sink


def test_telemetry_and_availability_are_printed_and_battery_reaches_hits(tmp_path):
    box, out = Outbox(tmp_path / "o.db"), io.StringIO()
    sink = DryRunPublisher(
        box, out, topic_prefix="site", device_id="trap-07", clock=ManualClock(T0)
    )
    sink.start()
    sink.publish_telemetry({"misses": 3, "battery_mv": 3700})
    box.add(hit(1))
    sink.drain()
    sink.stop()
    printed = out.getvalue().splitlines()
    assert printed[0] == "would publish site/trap-07/availability online"
    assert printed[1].startswith("would publish site/trap-07/telemetry {")
    assert json.loads(printed[2].split(" ", 3)[3])["battery_mv"] == 3700
    assert printed[3] == "would publish site/trap-07/availability offline"


def test_availability_online_is_printed_once_however_often_it_is_started(tmp_path):
    box, out = Outbox(tmp_path / "o.db"), io.StringIO()
    sink = DryRunPublisher(box, out, topic_prefix="site", device_id="trap-07")
    sink.start()
    sink.start()  # `camtrap run --sim` starts it to wait for it, then the service does
    sink.stop()
    assert out.getvalue().splitlines() == [
        "would publish site/trap-07/availability online",
        "would publish site/trap-07/availability offline",
    ]


def test_a_battery_reader_gives_the_hit_its_reading_before_any_telemetry(tmp_path):
    box, out = Outbox(tmp_path / "o.db"), io.StringIO()
    readings = [None, 3900]  # the MCU's TRIGGER carried a reading: no telemetry went out yet
    sink = DryRunPublisher(
        box, out, device_id="trap-07", clock=ManualClock(T0), battery=readings.pop
    )
    box.add(hit(1))
    sink.drain()
    box.add(hit(2))
    sink.publish_telemetry({"battery_mv": 3650})
    sink.drain()  # the reader has nothing now: the last telemetry's value
    bodies = [json.loads(p.split(" ", 3)[3]) for p in out.getvalue().splitlines()]
    assert [b["battery_mv"] for b in bodies if b["type"] == "hit"] == [3900, 3650]
