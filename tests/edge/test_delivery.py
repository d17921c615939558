"""Delivery beside the loop: `Fanout` keeps publishing past a peer that is down, and
`linger_mqtt` drains a slow uplink within its bound (a hit past it stays in the outbox)."""

from __future__ import annotations

import io
from pathlib import Path

from camtrap.adapters.dry_run import DryRunPublisher
from camtrap.adapters.outbox import Outbox
from camtrap.delivery import Fanout, linger_mqtt
from camtrap.sim.clock import ManualClock


class DownPeer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def drain(self) -> int:
        from camtrap.errors import PeerError

        raise PeerError("broker unreachable")

    def publish_telemetry(self, counters: object) -> None:
        self.calls.append("telemetry")

    def stop(self) -> None:
        self.calls.append("stop")


def test_fanout_keeps_publishing_when_one_peer_is_down(tmp_path: Path):
    from camtrap.core.types import Hit

    outbox, out = Outbox(tmp_path / "o.db"), io.StringIO()
    down, sink = DownPeer(), DryRunPublisher(outbox, out)
    fan = Fanout([down, sink])
    fan.start()
    outbox.add(Hit("camtrap-01-1", 1, "camtrap-01", 1.8e9, "leopard", 0.9, 2, 2))
    assert fan.drain() == 1 and "/hit " in out.getvalue()
    fan.stop()
    assert down.calls == ["start", "stop"]
    outbox.close()


def test_linger_drains_a_slow_uplink_until_no_hit_is_pending(tmp_path: Path):
    from camtrap.core.types import Hit

    clock, outbox = ManualClock(), Outbox(tmp_path / "o.db", sinks=("mqtt", "lora"))
    outbox.add(Hit("trap-01-1", 1, "trap-01", 1.8e9, "leopard", 0.9, 2, 2))
    uplink = SlowUplink(outbox, acks_after=4)
    assert linger_mqtt(uplink, outbox, 10.0, clock, wait=clock.advance) is True
    assert outbox.count_pending("mqtt") == 0 and outbox.count_pending("lora") == 1
    assert uplink.drains == 4 and clock.monotonic() < 10.0
    outbox.close()


def test_linger_gives_up_at_its_bound_and_the_hit_stays_in_the_outbox(tmp_path: Path):
    from camtrap.core.types import Hit

    clock, outbox = ManualClock(), Outbox(tmp_path / "o.db")
    outbox.add(Hit("trap-01-1", 1, "trap-01", 1.8e9, "leopard", 0.9, 2, 2))
    uplink = SlowUplink(outbox, acks_after=10_000)
    assert linger_mqtt(uplink, outbox, 2.0, clock, wait=clock.advance) is False
    assert outbox.count_pending("mqtt") == 1 and 2.0 <= clock.monotonic() < 2.1


class SlowUplink:
    """A publisher whose broker acknowledges pending hits only on its n-th drain."""

    def __init__(self, outbox: Outbox, acks_after: int) -> None:
        self.outbox, self.acks_after, self.drains = outbox, acks_after, 0

    def start(self) -> None: ...

    def drain(self) -> int:
        self.drains += 1
        if self.drains < self.acks_after:
            return 0
        hits = self.outbox.pending("mqtt")
        for h in hits:
            self.outbox.mark_sent(h.event_id, "mqtt")
        return len(hits)

    def publish_telemetry(self, counters: object) -> None: ...

    def stop(self) -> None: ...
