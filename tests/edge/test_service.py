"""The service loop with behaving fakes at the trigger port and real outbox, store and sink:
trigger -> burst -> verdict -> store -> outbox -> publish, counters and telemetry."""

from __future__ import annotations

import io
import json
from collections import deque
from pathlib import Path

import pytest
from burstkit import BLUE, RED, corrupt, detector, write_burst

from camtrap.adapters.dry_run import DryRunPublisher
from camtrap.adapters.outbox import Outbox
from camtrap.adapters.store import BurstStore
from camtrap.core.trigger import TriggerPolicy
from camtrap.core.types import BurstMeta
from camtrap.core.verdict import Rule
from camtrap.service import Service
from camtrap.sim.bursts import discover
from camtrap.sim.clock import ManualClock
from camtrap.sim.replay_camera import ReplayCamera


class QueueTrigger:
    """A trigger source fed by the test: ``push()`` a trigger, ``wait()`` hands them out."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock, self.queue, self.closed = clock, deque(), False

    def push(self, event_seq: int | None = None) -> None:
        meta = BurstMeta("pir", "trap-01", self.clock.now(), 0.5, event_seq=event_seq)
        self.queue.append(meta)

    def wait(self, timeout_s: float | None) -> BurstMeta | None:
        return self.queue.popleft() if self.queue else None

    def close(self) -> None:
        self.closed = True

    overflowed = 0  # the port's explicit members: nothing lost, nothing else to report

    def counters(self) -> dict[str, int]:
        return {}


class Rig:
    def __init__(self, tmp: Path, colours: list[list[tuple[int, int, int]]], **kw) -> None:
        for i, c in enumerate(colours):
            write_burst(tmp / "bursts" / f"b{i}", c, label="leopard" if c[0] == RED else "empty")
        self.clock = ManualClock(now=1_795_000_000.0)
        self.trigger = QueueTrigger(self.clock)
        self.pushes_during_burst = kw.pop("pushes_during_burst", 0)
        self.camera = ReplayCamera(discover([tmp / "bursts"]), (8, 8), pace=self._pace)
        self.outbox = Outbox(tmp / "outbox.db", sinks=("mqtt",))
        self.out = io.StringIO()
        self.store = kw.pop("store", None) or BurstStore(tmp / "store", 1 << 30)
        self.service = Service(
            trigger=self.trigger,
            camera=self.camera,
            detector=detector(Rule("k_of_n", 2, 0.5)),
            outbox=self.outbox,
            store=self.store,
            clock=self.clock,
            publisher=DryRunPublisher(self.outbox, self.out, device_id="trap-01", clock=self.clock),
            policy=kw.pop("policy", TriggerPolicy(cooldown_s=5.0, max_pending=1)),
            device_id="trap-01",
            frames=5,
            interval_s=0.5,
            telemetry_s=60.0,
            **kw,
        )

    def _pace(self, seconds: float) -> None:
        self.clock.advance(seconds)
        if self.pushes_during_burst:
            self.pushes_during_burst -= 1
            self.trigger.push()

    def published(self, kind: str) -> list[dict]:
        lines = [x.split(" ", 3) for x in self.out.getvalue().splitlines()]
        return [json.loads(x[3]) for x in lines if x[2].endswith("/" + kind)]


@pytest.fixture
def rig_factory(tmp_path: Path):
    rigs: list[Rig] = []

    def make(colours, **kw) -> Rig:
        rigs.append(Rig(tmp_path, colours, **kw))
        return rigs[-1]

    yield make
    for r in rigs:
        r.outbox.close()


def test_a_hit_is_stored_queued_and_published_with_the_contract_fields(rig_factory):
    rig = rig_factory([[RED, RED, RED]])
    rig.trigger.push()
    rig.service.step()
    [hit] = rig.published("hit")
    assert hit["event_id"] == "trap-01-0" and hit["label"] == "leopard" and hit["v"] == 1
    assert (hit["frames_agreeing"], hit["frames_classified"]) == (2, 2)
    assert hit["model"] == "colour@00000000" and hit["score"] > 0.9
    assert rig.outbox.count_pending() == 0
    [stored] = list((rig.store.root).glob("*/trap-01-0/burst.json"))
    assert json.loads(stored.read_text())["verdict"]["verdict"] == "hit"
    assert rig.service.counters()["hits"] == 1


def test_a_miss_is_stored_and_counted_but_never_published(rig_factory):
    rig = rig_factory([[BLUE, BLUE, BLUE]])
    rig.trigger.push()
    rig.service.step()
    assert rig.published("hit") == [] and rig.outbox.count_pending() == 0
    c = rig.service.counters()
    assert (c["misses"], c["bursts"], c["frames_classified"]) == (1, 1, 3)  # 5 planned, 3 came
    assert len(list(rig.store.root.glob("*/trap-01-0"))) == 1


def test_a_corrupt_frame_is_an_error_burst_and_the_service_goes_on(rig_factory, tmp_path):
    rig = rig_factory([[RED, RED], [RED, RED]])
    corrupt(tmp_path / "bursts" / "b0" / "000.jpg")
    rig.trigger.push()
    rig.service.step()
    rig.clock.advance(10)
    rig.trigger.push()
    rig.service.step()
    c = rig.service.counters()
    assert (c["errors"], c["hits"]) == (1, 1)
    assert [h["event_id"] for h in rig.published("hit")] == ["trap-01-1"]


def test_triggers_during_a_burst_are_counted_and_one_follow_up_runs_after_cooldown(rig_factory):
    rig = rig_factory([[BLUE] * 5, [RED] * 3], pushes_during_burst=3)
    rig.trigger.push()
    rig.service.step()
    c = rig.service.counters()
    assert (c["triggers"], c["triggers_during_burst"], c["triggers_dropped"]) == (4, 3, 2)
    rig.service.step()  # still cooling down
    assert rig.service.counters()["bursts"] == 1
    rig.clock.advance(5.0)
    rig.service.step()  # the kept follow-up
    assert rig.service.counters()["bursts"] == 2 and rig.published("hit")[0]["label"] == "leopard"


def test_telemetry_is_published_each_interval(rig_factory):
    rig = rig_factory([[RED]])
    rig.service.step()
    assert rig.published("telemetry") == []
    rig.clock.advance(61)
    rig.service.step()
    [t] = rig.published("telemetry")
    assert {
        "triggers",
        "bursts",
        "hits",
        "misses",
        "errors",
        "frames_classified",
        "triggers_during_burst",
        "triggers_dropped",
    } <= set(t)


class FailingStore:
    def save(self, *args: object) -> None:
        raise OSError("disk on fire")

    def hit_times(self) -> list[float]:
        raise OSError("disk on fire")

    def health(self) -> dict[str, str | None]:
        return {"store_fault": "I/O error: disk on fire"}


class FaultyWhenTold(BurstStore):
    """A real burst store whose health the test sets (what a full card makes it report)."""

    set_fault: str | None = None

    def health(self) -> dict[str, str | int | None]:
        return {**super().health(), "store_fault": self.set_fault}


def test_the_storage_state_is_told_once_at_the_first_look_then_only_its_changes(
    rig_factory, tmp_path
):
    store = FaultyWhenTold(tmp_path / "told", 1 << 30)
    told: list[str | None] = []
    rig = rig_factory([[RED, RED], [RED, RED]], store=store, on_storage=told.append)
    rig.service.counters()
    assert told == [None]  # healthy, said once: clears what the MCU kept from a boot before
    store.set_fault = "disk full: no space left on device"
    rig.trigger.push()
    rig.service.step()
    assert told == [None, "disk full: no space left on device"]
    assert len(rig.published("hit")) == 1  # degraded, delivering
    rig.service.counters()
    assert len(told) == 2  # no change, nothing said
    store.set_fault = None
    rig.service.counters()
    assert told[-1] is None and len(told) == 3


def test_a_failing_store_loses_no_hit(rig_factory):
    rig = rig_factory([[RED, RED]], store=FailingStore())
    rig.trigger.push()
    rig.service.step()
    assert len(rig.published("hit")) == 1
    assert rig.service.counters()["storage_fault"] == "I/O error: disk on fire"  # reported


def test_run_ends_when_finished_and_shuts_down_cleanly(rig_factory):
    rig = rig_factory([[RED, RED]], finished=lambda: rig.camera.exhausted and not rig.camera.busy)
    rig.trigger.push()
    counters = rig.service.run()
    assert counters["hits"] == 1 and rig.trigger.closed
    assert rig.out.getvalue().splitlines()[-1].endswith("offline")


def test_an_event_sequence_from_the_trigger_source_names_the_event(rig_factory):
    rig = rig_factory([[RED, RED]])
    rig.trigger.push(event_seq=41)
    rig.service.step()
    [hit] = rig.published("hit")
    assert (hit["event_id"], hit["event_seq"]) == ("trap-01-41", 41)


def test_without_a_carried_sequence_the_outbox_numbers_the_event(rig_factory):
    rig = rig_factory([[RED, RED]])
    first = rig.service.outbox.next_event_seq()
    rig.trigger.push()
    rig.service.step()
    [hit] = rig.published("hit")
    assert hit["event_seq"] == first + 1 and hit["event_id"] == f"trap-01-{first + 1}"


def _seconds_to_utc_midnight(t: float) -> float:
    return 86400 - t % 86400


def test_hits_today_counts_the_hits_of_the_current_utc_date_only(rig_factory):
    rig = rig_factory([[RED, RED], [RED, RED], [RED, RED]])
    rig.trigger.push()
    rig.service.step()
    assert rig.service.counters()["hits_today"] == 1
    rig.clock.advance(_seconds_to_utc_midnight(rig.clock.now()) - 10)  # 23:59:50 UTC
    rig.trigger.push()
    rig.service.step()
    assert rig.service.counters()["hits_today"] == 2
    rig.clock.advance(20)  # 00:00:10 UTC the next day
    assert rig.service.counters()["hits_today"] == 0  # before any hit on the new date
    rig.trigger.push()
    rig.service.step()
    c = rig.service.counters()
    assert (c["hits_today"], c["hits"]) == (1, 3)
    rig.clock.advance(61)
    rig.service.step()
    assert rig.published("telemetry")[-1]["hits_today"] == 1  # what Home Assistant reads


def test_a_kept_follow_up_that_never_runs_is_counted_as_dropped(rig_factory):
    rig = rig_factory(
        [[BLUE] * 5],
        pushes_during_burst=1,
        finished=lambda: rig.camera.exhausted and not rig.camera.busy,
    )
    rig.trigger.push()
    c = rig.service.run()  # ends before the cooldown: the kept follow-up never runs
    assert (c["triggers"], c["bursts"], c["triggers_during_burst"]) == (2, 1, 1)
    assert c["triggers"] == c["bursts"] + c["triggers_dropped"]
    assert rig.published("telemetry")[-1]["triggers_dropped"] == 1  # the final telemetry


def test_outputs_name_device_data_dir_when_it_cannot_be_created(tmp_path: Path):
    from camtrap.app.wiring import build_outputs
    from camtrap.config import parse_config
    from camtrap.errors import ConfigError

    blocker = tmp_path / "file"
    blocker.write_text("")
    cfg = parse_config({"device": {"data_dir": str(blocker / "data")}}, "trap.toml")
    with pytest.raises(ConfigError) as e:
        build_outputs(cfg, "trap.toml", ManualClock(), "m@1", sim=True)
    assert str(e.value).startswith(f"trap.toml: device.data_dir: cannot create {blocker}")


def test_the_pi_camera_is_built_with_the_configured_jpeg_quality():
    from camtrap.app.field import _picamera2
    from camtrap.config import parse_config

    cfg = parse_config({"storage": {"jpeg_quality": 60}}, "trap.toml")
    camera = _picamera2(cfg, detector())
    assert camera.jpeg_quality == 60  # pyright: ignore[reportAttributeAccessIssue]


def test_hits_today_starts_from_the_days_stored_hits_after_a_reboot(rig_factory):
    first = rig_factory([[RED, RED]])
    first.trigger.push()
    first.service.step()
    rebooted = rig_factory([[BLUE, BLUE]])  # a power-gated Pi boots for each event
    rebooted.trigger.push()
    rebooted.service.step()
    c = rebooted.service.counters()
    assert (c["hits"], c["misses"], c["hits_today"]) == (0, 1, 1)


def test_the_boot_timeline_records_trigger_and_first_frame_once_after_the_burst(
    rig_factory, tmp_path: Path
):
    from camtrap.adapters import boot_timeline

    boot_id = tmp_path / "boot_id"
    boot_id.write_text("b00t\n")
    rig = rig_factory([[RED, RED, RED], [BLUE, BLUE, BLUE]])
    rig.clock.advance(7.0)  # the service process starts 7 s into the boot
    timeline = boot_timeline.BootTimeline.open(tmp_path, rig.clock, boot_id_path=boot_id)
    rig.service.timeline = timeline
    path = tmp_path / boot_timeline.FILE
    rig.clock.advance(1.5)
    rig.trigger.push()
    assert not path.exists()  # nothing written between the trigger and the first frame
    rig.service.step()
    first = boot_timeline.load(path)
    assert first is not None and first.boot_id == "b00t"
    assert first.trigger_s is not None and first.first_frame_s is not None
    assert first.trigger_s - first.started_s == pytest.approx(1.5)
    # the replay camera paces frame 0 at once: the first frame comes with the trigger
    assert first.first_frame_s == pytest.approx(first.trigger_s)
    rig.clock.advance(30.0)
    rig.trigger.push()
    rig.service.step()
    assert boot_timeline.load(path) == first  # later bursts do not move this boot's milestones
