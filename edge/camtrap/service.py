"""The service: the loop the trap runs, in the field and in simulation.

    wait for a trigger -> burst -> verdict -> store -> outbox -> publish

with the pure retrigger policy (`camtrap.core.trigger`) deciding when bursts start, periodic
telemetry counters, and a clean stop when ``stop`` is set (SIGTERM). It drives ports only
(`camtrap.core.ports`); which adapters fill them, real or simulated, is the composition root's
choice (`camtrap.app`). The publishers it drains as one (`Fanout`) and the bounded drain
before a power-gated Pi acknowledges SHUTDOWN (`linger_mqtt`) are `camtrap.delivery`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING

from camtrap.core.hits import DayCount, add_hit, count_on, hit_of, hits_on, utc_day
from camtrap.core.pipeline import BurstResult, Detector, capture, classify_burst
from camtrap.core.ports import (
    Camera,
    Clock,
    Counter,
    OutboxPort,
    Publisher,
    StorePort,
    TimeKeeper,
    TriggerSource,
)
from camtrap.core.thumbnail import ThumbnailError, ThumbnailSpec, thumbnail_for
from camtrap.core.timebase import BurstTime
from camtrap.core.trigger import TriggerPolicy, TriggerState, burst_done, on_trigger, tick
from camtrap.core.types import BurstMeta, Frame, make_event_id
from camtrap.delivery import FLUSH_STEP_S

if TYPE_CHECKING:
    from camtrap.adapters.boot_timeline import BootTimeline

log = logging.getLogger("camtrap.service")

# plan(meta) -> (meta, frames to capture), or None when there is nothing to capture (sim)
Plan = Callable[[BurstMeta], "tuple[BurstMeta, int] | None"]
OnResult = Callable[[BurstMeta, str, BurstResult], None]

COUNTERS = (
    "triggers",
    "bursts",
    "hits",
    "misses",
    "errors",
    "frames_classified",
    "triggers_during_burst",
    "triggers_dropped",
)


@dataclass
class Service:
    """The trap's main loop. Call `run()`; set ``stop`` (SIGTERM does) to end it cleanly."""

    trigger: TriggerSource
    camera: Camera
    detector: Detector
    outbox: OutboxPort
    store: StorePort | None
    publisher: Publisher
    clock: Clock
    policy: TriggerPolicy
    device_id: str
    frames: int
    interval_s: float
    telemetry_s: float = 3600.0
    deployment_id: str = ""  # [deployment] id, carried by every hit
    timekeeper: TimeKeeper | None = None  # where ``clock``'s time comes from; None: trusted
    plan: Plan | None = None
    on_result: OnResult | None = None
    # told the storage fault (None: healthy) at the start and at every change: the MCU's
    # heartbeat carries it (`camtrap.adapters.mcu_link.HealthReport`)
    on_storage: Callable[[str | None], None] | None = None
    finished: Callable[[], bool] = lambda: False
    stop: threading.Event = field(default_factory=threading.Event)
    poll_s: float = 0.5
    linger_s: float = 2.0  # at shutdown, keep draining pending hits this long
    picture: ThumbnailSpec | None = None  # a JPEG with each hit; None: hits go without one
    state: TriggerState = field(default_factory=TriggerState)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    _last_meta: BurstMeta | None = None
    _next_telemetry: float | None = None
    _hits_day: DayCount | None = None  # None until seeded from the burst store
    _not_run: int = 0  # bursts started with nothing to capture (a simulation's end)
    timeline: BootTimeline | None = None  # this boot's milestones, for `camtrap doctor`
    _timeline_written: bool = False
    _fault_seen: Counter = None  # the storage fault last logged
    _storage_told: bool = False  # on_storage heard the state once

    def run(self) -> dict[str, Counter]:
        """Run until ``stop`` is set or ``finished()``; returns the final counters."""
        from camtrap.adapters import systemd

        self.camera.start()
        self.publisher.start()
        self._storage()  # the state at the start (logged if faulty; told to on_storage)
        systemd.ready("armed")
        if self.timeline is not None:
            self.timeline.mark("armed")
            self.timeline.flush()
        log.info(
            "armed: model %s, targets %s, rule %s",
            self.detector.model,
            ", ".join(self.detector.targets.names),
            self.detector.rule.describe(),
        )
        try:
            while not self.stop.is_set() and not self.finished():
                self.step()
                systemd.watchdog()
        finally:
            systemd.stopping()
            self._shutdown()
        return self.counters()

    def step(self) -> None:
        """One turn: wait for a trigger (or the cooldown's end), maybe run a burst."""
        self._telemetry_due()
        self.publisher.drain()
        meta = self.trigger.wait(self._timeout())
        now = self.clock.monotonic()
        if meta is not None:
            self._last_meta = meta
            if self.timeline is not None:
                self.timeline.mark("trigger")
            self.state, start = on_trigger(self.policy, self.state, now)
        else:
            self.state, start = tick(self.policy, self.state, now)
            meta = self._follow_up_meta()
        if start:
            self.burst(meta)

    def burst(self, meta: BurstMeta) -> BurstResult | None:
        """Capture and decide one burst, then store, queue and publish it."""
        planned = self.plan(meta) if self.plan else (meta, self.frames)
        if planned is None:
            self._not_run += 1
            self._done_burst()
            return None
        meta, n = planned
        seq = self._event_seq(meta)
        event_id = make_event_id(self.device_id, seq)
        frames = capture(self.camera, n, self.interval_s)
        if self.timeline is not None:
            frames = self._mark_first_frame(frames, self.timeline)
        result = classify_burst(frames, n, self.detector)
        self._done_burst()
        self._record(meta, event_id, seq, result)
        if self.timeline is not None and not self._timeline_written:
            self._timeline_written = True  # once a boot: after the burst, off its critical path
            self.timeline.flush()
        return result

    @staticmethod
    def _mark_first_frame(frames: Iterator[Frame], timeline: BootTimeline) -> Iterator[Frame]:
        for i, frame in enumerate(frames):
            if i == 0:
                timeline.mark("first_frame")
            yield frame

    def counters(self) -> dict[str, Counter]:
        """Telemetry. ``triggers = bursts + triggers_dropped + kept follow-ups`` (none are kept
        once the service stopped); ``triggers_during_burst`` counts some of either kind."""
        out: dict[str, Counter] = dict(self.counts)
        overflowed = self.trigger.overflowed  # never reached the policy
        out.update(
            triggers=self.state.triggers + overflowed,
            triggers_during_burst=self.state.during_burst,
            triggers_dropped=self.state.dropped + overflowed + self._not_run,
            hits_today=self._hits_today(),
        )
        out.update(self.camera.counters())  # the field camera's capture counts
        out.update(self.trigger.counters())  # the MCU's battery_mv
        out.update(self._storage())
        if self.timekeeper is not None:  # so a 1970 "time" in telemetry reads as what it is
            out["time_source"] = self.timekeeper.status().source
        return out

    def _storage(self) -> dict[str, Counter]:
        """The outbox's and the store's health; ``storage_fault`` is either's fault, or None.

        A storage fault is a state the service runs on in (degraded: hits kept in memory,
        sent-marks retried), not an exit; telemetry and doctor report it until it clears.
        """
        out: dict[str, Counter] = {}
        try:
            out.update(self.outbox.health())
            if self.store is not None:
                out.update(self.store.health())
        except Exception as e:  # a telemetry counter never stops the trap
            out["storage_fault"] = f"health unreadable: {e}"
            return out
        fault = out.get("outbox_fault") or out.get("store_fault")
        out["storage_fault"] = fault
        if self.on_storage is not None and (fault != self._fault_seen or not self._storage_told):
            self._tell_storage(None if fault is None else str(fault))
        if fault != self._fault_seen:
            if fault:
                log.error("storage fault: %s: degraded, classifying and delivering on", fault)
            elif self._fault_seen:
                log.warning("storage recovered (was: %s)", self._fault_seen)
            self._fault_seen = fault
        return out

    def _tell_storage(self, fault: str | None) -> None:
        assert self.on_storage is not None
        self._storage_told = True
        try:
            self.on_storage(fault)
        except Exception as e:  # a report never stops the trap (a dead link fails its wait)
            log.error("storage state not reported: %s", e)

    # -- steps -------------------------------------------------------------------------------

    def _event_seq(self, meta: BurstMeta) -> int:
        """The sequence the trigger carried (the MCU's, power-gated), else the outbox's next."""
        return self.outbox.next_event_seq() if meta.event_seq is None else meta.event_seq

    def _timeout(self) -> float:
        if self.state.wake_at is None:
            return self.poll_s
        return max(0.0, min(self.poll_s, self.state.wake_at - self.clock.monotonic()))

    def _follow_up_meta(self) -> BurstMeta:
        base = self._last_meta
        return BurstMeta(
            source="follow-up",
            device_id=self.device_id if base is None else base.device_id,
            trigger_time=self.clock.now(),
            frame_interval_s=self.interval_s,
        )

    def _done_burst(self) -> None:
        """Triggers that arrived while the burst ran count as during it; then cool down."""
        now = self.clock.monotonic()
        while (extra := self.trigger.wait(0)) is not None:
            self._last_meta = extra
            self.state, _ = on_trigger(self.policy, self.state, now)
        self.state = burst_done(self.policy, self.state, now)

    def _record(self, meta: BurstMeta, event_id: str, seq: int, result: BurstResult) -> None:
        v = result.verdict
        self._count(v.decision, v.frames_classified)
        if v.decision == "hit":
            hit = hit_of(
                meta,
                event_id,
                seq,
                result,
                self.device_id,
                self.detector.model,
                deployment_id=self.deployment_id,
                time_trusted=self._time_trusted(),
            )
            self.outbox.add(hit, self._picture(event_id, result))
        self._store(event_id, meta, result)
        if v.decision == "hit":
            self.publisher.drain()
        self._storage()  # logs a storage fault (or its recovery) when it happens
        log.info("%s", describe(event_id, result))
        if self.on_result is not None:
            self.on_result(meta, event_id, result)

    def _picture(self, event_id: str, result: BurstResult) -> bytes | None:
        """The hit's picture (best region of the best frame, within the byte budget), or None
        with the reason counted (``pictures_<reason>``): the hit goes out either way."""
        if self.picture is None:
            return None
        try:
            thumb = thumbnail_for(result.verdict, result.frames, self.picture)
        except ThumbnailError as e:
            self._tally(f"pictures_{e.reason}")
            log.warning("%s: no picture: %s", event_id, e)
            return None
        except Exception as e:  # a picture must never cost the hit
            self._tally("pictures_failed")
            log.error("%s: no picture: %s: %s", event_id, type(e).__name__, e)
            return None
        self._tally("pictures")
        return thumb.jpeg

    def _tally(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def _time_trusted(self) -> bool:
        return self.timekeeper is None or self.timekeeper.status().trusted

    def _burst_time(self, meta: BurstMeta) -> BurstTime | None:
        return None if self.timekeeper is None else self.timekeeper.burst_time(meta.trigger_time)

    def _store(self, event_id: str, meta: BurstMeta, result: BurstResult) -> None:
        if self.store is None:
            return
        try:
            self.store.save(
                event_id,
                meta,
                result.verdict,
                result.frames,
                time=self._burst_time(meta),
                target_label=result.target_label,
                model=self.detector.model,
                target=result.target,
            )
        except Exception as e:  # a failed store must not lose the hit or stop the trap
            log.error("storing %s failed: %s", event_id, e)

    def _count(self, decision: str, frames: int) -> None:
        key = {"hit": "hits", "miss": "misses"}.get(decision, "errors")
        self.counts[key] += 1
        if decision == "hit":
            today = utc_day(self.clock.now())
            self._hits_day = add_hit(self._day_count(today), today)
        self.counts["bursts"] += 1
        self.counts["frames_classified"] += frames

    def _hits_today(self) -> int:
        today = utc_day(self.clock.now())
        return count_on(self._day_count(today), today)

    def _day_count(self, day: date) -> DayCount:
        """The count so far; the first one starts from the hits the burst store holds for the
        day (a power-gated Pi boots for each event; hits are the last bursts the store evicts)."""
        if self._hits_day is None:
            self._hits_day = DayCount(day, self._stored_hits_on(day))
        return self._hits_day

    def _stored_hits_on(self, day: date) -> int:
        if self.store is None:
            return 0
        try:
            return hits_on(self.store.hit_times(), day)
        except Exception as e:  # a telemetry counter never stops the trap
            log.warning("hits_today: cannot read the burst store: %s", e)
            return 0

    def _telemetry_due(self) -> None:
        now = self.clock.monotonic()
        if self._next_telemetry is None:
            self._next_telemetry = now + self.telemetry_s
        elif now >= self._next_telemetry:
            self._next_telemetry = now + self.telemetry_s
            self.publisher.publish_telemetry(self.counters())

    def _flush(self) -> None:
        """Give pending hits a last chance (about ``linger_s``) before disconnecting."""
        for _ in range(max(1, round(self.linger_s / FLUSH_STEP_S))):
            self.publisher.drain()
            if self.outbox.count_pending() == 0:
                return
            time.sleep(FLUSH_STEP_S)

    def _shutdown(self) -> None:
        # follow-ups still kept will never run: they are dropped, so the counters add up
        self.state = replace(self.state, dropped=self.state.dropped + self.state.pending, pending=0)
        for name, step in (
            ("drain", self._flush),
            ("telemetry", lambda: self.publisher.publish_telemetry(self.counters())),
            ("publisher", self.publisher.stop),
            ("camera", self.camera.stop),
            ("trigger", self.trigger.close),
        ):
            try:
                step()
            except Exception as e:  # keep shutting the rest down
                log.error("shutdown: %s: %s", name, e)
        log.info("stopped: %s", self.counters())


def describe(event_id: str, result: BurstResult) -> str:
    """One log line per burst."""
    v = result.verdict
    if v.decision == "error":
        return f"{event_id}: error: {v.error}"
    label = result.target_label if v.decision == "hit" else v.top_label
    return (
        f"{event_id}: {v.decision} {label} score {v.target_score:.2f} "
        f"({v.frames_agreeing}/{v.frames_classified} frames agreeing of {v.frames_total}, "
        f"{v.rule})"
    )
