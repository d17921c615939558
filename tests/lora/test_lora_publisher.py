"""LoraPublisher: the Outbox's "lora" deliveries through the scheduler to a modem over a real pty.

A real SQLite Outbox, the simulated modem of fake_modem.py on a pseudo-terminal, pyserial and
a manual clock: the hit's exact uplink bytes reach the modem, the delivery is marked, the
duty cycle holds the next hit back, a lost session leads to one join, and the config slice
builds the scheduler strictly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from camtrap.adapters.lora_modem import SerialModem
from camtrap.adapters.lora_uplink import LoraPublisher, make_scheduler
from camtrap.adapters.outbox import Outbox
from camtrap.config import LoraConfig, parse_config
from camtrap.core.hit_uplink import hit_uplink
from camtrap.core.types import Hit, make_event_id
from camtrap.errors import ConfigError
from camtrap.sim.clock import ManualClock
from tests.lora.fake_modem import FakeModem
from trapfw import payload

T0 = 1795000000.0


def make_hit(seq: int, label: str = "leopard", score: float = 0.93) -> Hit:
    return Hit(make_event_id("trap-07", seq), seq, "trap-07", T0 - 20, label, score, 3, 4)


@contextmanager
def sink_on_pty(
    tmp_path: Path, kind: str = "lora-e5", **state
) -> Iterator[tuple[LoraPublisher, FakeModem, Outbox, ManualClock]]:
    clock = ManualClock(now=T0, monotonic=1000.0)
    outbox = Outbox(tmp_path / "outbox.db", sinks=("lora",))
    with FakeModem(kind, **state) as fake:
        modem = SerialModem.open(fake.path, kind)
        scheduler = make_scheduler(LoraConfig(), clock.monotonic())
        sink = LoraPublisher(outbox, modem, scheduler, clock)
        try:
            sink.start()
            yield sink, fake, outbox, clock
        finally:
            sink.stop()
            outbox.close()


def test_outbox_hit_reaches_the_modem_as_its_exact_uplink_bytes(tmp_path: Path) -> None:
    with sink_on_pty(tmp_path) as (sink, fake, outbox, clock):
        sink.publish_telemetry({"battery_mv": 3710})
        hit = make_hit(42)
        outbox.add(hit)
        assert sink.drain() == 1
        assert fake.sent == [(payload.FPORT_HIT, hit_uplink(hit, clock.now(), 3710))]
        assert outbox.count_pending("lora") == 0
        assert fake.joins == 0  # a session in the modem: no join on start or send


def test_duty_cycle_holds_the_second_hit_until_the_sub_band_opens(tmp_path: Path) -> None:
    with sink_on_pty(tmp_path) as (sink, fake, outbox, clock):
        outbox.add(make_hit(1))
        outbox.add(make_hit(2))
        assert sink.drain() == 1 and len(fake.sent) == 1
        assert outbox.count_pending("lora") == 1
        clock.advance(100)  # EU868 SF12: closed 148.3 s
        assert sink.drain() == 0 and len(fake.sent) == 1
        clock.advance(50)
        assert sink.drain() == 1
        second = payload.decode(payload.FPORT_HIT, fake.sent[1][1])
        assert second["event_seq"] == 2 and second["age_s"] == 20 + 150


def test_heartbeat_reports_the_services_triggers_and_battery(tmp_path: Path) -> None:
    with sink_on_pty(tmp_path) as (sink, fake, outbox, clock):
        sink.publish_telemetry({"triggers": 4, "battery_mv": 3650})
        outbox.add(make_hit(7))
        sink.drain()
        sink.publish_telemetry({"triggers": 9})
        clock.advance(6 * 3600)
        sink.drain()
        port, data = fake.sent[-1]
        beat = payload.decode(port, data)
        assert beat["type"] == "heartbeat" and beat["triggers"] == 9 and beat["hits"] == 1
        assert beat["hits_unsent"] == 0 and beat["last_event_seq"] == 7
        assert beat["battery_mv"] == 3660


def test_heartbeat_carries_the_services_storage_and_clock_state(tmp_path: Path) -> None:
    with sink_on_pty(tmp_path) as (sink, fake, _outbox, clock):
        sink.publish_telemetry({"storage_fault": "disk full: no space", "time_source": "none"})
        clock.advance(6 * 3600)
        sink.drain()
        beat = payload.decode(*fake.sent[-1])
        assert beat["v"] == 2 and beat["storage_fault"] and beat["clock_unset"]
        sink.publish_telemetry({"storage_fault": None, "time_source": "ntp"})  # recovered
        clock.advance(6 * 3600)
        sink.drain()
        beat = payload.decode(*fake.sent[-1])
        assert not beat["storage_fault"] and not beat["clock_unset"] and not beat["low_battery"]


def test_lost_session_leads_to_one_paced_join(tmp_path: Path) -> None:
    with sink_on_pty(tmp_path, joined=False) as (sink, fake, outbox, clock):
        outbox.add(make_hit(5))
        assert sink.drain() == 0 and fake.joins == 1 and fake.sent == []
        clock.advance(10)
        assert sink.drain() == 0  # the failed send waits 30 s
        clock.advance(25)
        assert sink.drain() == 1 and len(fake.sent) == 1 and fake.joins == 1


def test_lora_config_builds_the_scheduler_and_refuses_a_data_rate_too_slow(tmp_path) -> None:
    cfg = parse_config(
        {"lora": {"region": "AS923", "daily_airtime_s": 10, "heartbeat_interval_s": 3600}}
    ).lora
    sched = make_scheduler(cfg, 0.0)
    assert sched.dr == 2 and sched.daily_budget_s == 10
    too_slow = parse_config({"lora": {"region": "AS923", "data_rate": 0}}).lora
    with pytest.raises(ConfigError, match=r"lora\.data_rate: AS923 DR0 cannot carry 11 bytes"):
        make_scheduler(too_slow, 0.0)


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"heartbeat_interval_s": 10}, "lora.heartbeat_interval_s"),
        ({"reserve_hits": -1}, "lora.reserve_hits"),
        ({"data_rate": 16}, "lora.data_rate"),
        ({"region": "AU915"}, "lora.region"),
        ({"app_key": "00"}, "lora.app_key"),
    ],
)
def test_bad_lora_config_names_the_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config({"lora": table}, "trap.toml")


def test_a_rak3172_join_books_every_attempt_it_makes(tmp_path: Path) -> None:
    # RUI3 AT+JOIN=1:0:10:8: the modem makes up to 8 join requests on its own
    with sink_on_pty(tmp_path, "rak3172", joined=False, join_fails=True) as (sink, fake, ob, _):
        ob.add(make_hit(6))
        sink.drain()
        assert fake.joins == 8
        one = sink.scheduler.frame_s  # 11 app bytes = 24 PHY bytes; a join request is 23
        assert sink.backoff.used == pytest.approx(8 * one, rel=0.02)
