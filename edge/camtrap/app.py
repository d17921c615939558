"""The service: wiring and the loop.

`build_detector` loads the model and settles targets and the burst rule (config `[verdict]`
over the model card). `Service` is the loop the trap runs, in the field and in simulation:

    wait for a trigger -> burst -> verdict -> store -> outbox -> publish

with the pure retrigger policy (`camtrap.core.trigger`) deciding when bursts start, periodic
telemetry counters, and a clean stop when ``stop`` is set (SIGTERM). Which adapters it drives,
real or simulated, is chosen explicitly by `run_field` and `run_sim` (what `camtrap run` calls);
a simulated adapter is never a fallback for missing hardware.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from camtrap.config import ModelConfig, VerdictConfig
from camtrap.core.pipeline import BurstResult, Detector, classify_burst
from camtrap.core.ports import Camera, Clock, TriggerSource
from camtrap.core.targets import first_name, resolve_targets
from camtrap.core.trigger import TriggerPolicy, TriggerState, burst_done, on_trigger, tick
from camtrap.core.types import BurstMeta, Frame, Hit, make_event_id
from camtrap.core.verdict import Rule
from camtrap.errors import ConfigError, PeerError, UsageError

log = logging.getLogger("camtrap.app")

FLUSH_STEP_S = 0.05
DEFAULT_RULE = Rule("k_of_n", k=2, threshold=0.5, early_exit=True)  # models without a card


# --------------------------------------------------------------------------------------------
# Model, targets and rule


def build_detector(model_cfg: ModelConfig, verdict_cfg: VerdictConfig) -> Detector:
    """Load the model and resolve targets and rule; a `UsageError` names what is wrong."""
    from camtrap.adapters.classifier import load_model

    loaded = load_model(
        model_cfg.path, model_cfg.labels, model_cfg.num_threads, model_cfg.check_hash
    )
    card = loaded.card
    names = verdict_cfg.targets or (card.targets if card else ())
    if not names:
        raise UsageError(f"{loaded.path}: no targets: give --target NAME (no model card targets)")
    targets = resolve_targets(names, loaded.classifier.labels)
    rule = resolve_rule(card.decision if card else DEFAULT_RULE, verdict_cfg)
    resize = card.input.resize if card else "squash"
    return Detector(loaded.classifier, targets, rule, resize, loaded.ident)


def resolve_rule(base: Rule, cfg: VerdictConfig) -> Rule:
    """The card's rule with every value the config sets laid over it."""
    try:
        return Rule(
            name=cfg.rule or base.name,
            k=cfg.k if cfg.k is not None else base.k,
            threshold=cfg.threshold if cfg.threshold is not None else base.threshold,
            early_exit=cfg.early_exit if cfg.early_exit is not None else base.early_exit,
        )
    except ValueError as e:
        raise UsageError(f"verdict: {e}") from None


# --------------------------------------------------------------------------------------------
# The service loop


class Publisher(Protocol):
    """`MqttPublisher` or `DryRunSink`."""

    def start(self) -> None: ...
    def drain(self) -> int: ...
    def publish_telemetry(self, counters: Any) -> None: ...
    def stop(self) -> None: ...


class OutboxPort(Protocol):
    def next_event_seq(self) -> int: ...
    def add(self, hit: Hit) -> Any: ...
    def count_pending(self, sink: str | None = None) -> int: ...


class StorePort(Protocol):
    def save(self, event_id: str, meta: BurstMeta, verdict: Any, frames: Any) -> Any: ...


class Fanout:
    """Several publishers driven as one (MQTT and LoRa); one failing peer does not stop others."""

    def __init__(self, publishers: Sequence[Publisher]) -> None:
        self.publishers = list(publishers)

    def start(self) -> None:
        self._each("start", lambda p: p.start())

    def drain(self) -> int:
        counts: list[int] = []
        self._each("drain", lambda p: counts.append(p.drain()))
        return sum(counts)

    def publish_telemetry(self, counters: Any) -> None:
        self._each("telemetry", lambda p: p.publish_telemetry(counters))

    def stop(self) -> None:
        self._each("stop", lambda p: p.stop())

    def _each(self, what: str, call: Callable[[Publisher], object]) -> None:
        for p in self.publishers:
            try:
                call(p)
            except PeerError as e:  # the peer is down: its hits wait in the outbox
                log.error("%s: %s: %s", type(p).__name__, what, e)


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
    plan: Plan | None = None
    on_result: OnResult | None = None
    finished: Callable[[], bool] = lambda: False
    stop: threading.Event = field(default_factory=threading.Event)
    poll_s: float = 0.5
    linger_s: float = 2.0  # at shutdown, keep draining pending hits this long
    state: TriggerState = field(default_factory=TriggerState)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    _last_meta: BurstMeta | None = None
    _next_telemetry: float | None = None
    _hits_day: tuple[date | None, int] = (None, 0)  # (UTC date of clock.now(), hits on it)
    _not_run: int = 0  # bursts started with nothing to capture (a simulation's end)

    def run(self) -> dict[str, int | float | str | None]:
        """Run until ``stop`` is set or ``finished()``; returns the final counters."""
        from camtrap.adapters import systemd

        self.camera.start()
        self.publisher.start()
        systemd.ready("armed")
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
        result = classify_burst(_capture(self.camera, n, self.interval_s), n, self.detector)
        self._done_burst()
        self._record(meta, event_id, seq, result)
        return result

    def counters(self) -> dict[str, int | float | str | None]:
        """Telemetry. ``triggers = bursts + triggers_dropped + kept follow-ups`` (none are kept
        once the service stopped); ``triggers_during_burst`` counts some of either kind."""
        out: dict[str, int | float | str | None] = dict(self.counts)
        overflowed = int(getattr(self.trigger, "overflowed", 0))  # never reached the policy
        out.update(
            triggers=self.state.triggers + overflowed,
            triggers_during_burst=self.state.during_burst,
            triggers_dropped=self.state.dropped + overflowed + self._not_run,
            hits_today=self._hits_on(_utc_day(self.clock.now())),
        )
        for port in (self.camera, self.trigger):  # the field camera, the MCU (battery_mv)
            port_counters = getattr(port, "counters", None)
            if callable(port_counters):
                out.update(cast(dict[str, Any], port_counters()))
        return out

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
            self.outbox.add(self._hit(meta, event_id, seq, result))
        self._store(event_id, meta, result)
        if v.decision == "hit":
            self.publisher.drain()
        log.info("%s", describe(event_id, result))
        if self.on_result is not None:
            self.on_result(meta, event_id, result)

    def _hit(self, meta: BurstMeta, event_id: str, seq: int, result: BurstResult) -> Hit:
        v = result.verdict
        return Hit(
            event_id=event_id,
            event_seq=seq,
            device_id=self.device_id,
            time=meta.trigger_time,
            label=first_name(result.target_label),
            score=round(v.target_score, 4),
            frames_agreeing=v.frames_agreeing,
            frames_classified=v.frames_classified,
            model=self.detector.model,
        )

    def _store(self, event_id: str, meta: BurstMeta, result: BurstResult) -> None:
        if self.store is None:
            return
        try:
            self.store.save(event_id, meta, result.verdict, result.frames)
        except Exception as e:  # a failed store must not lose the hit or stop the trap
            log.error("storing %s failed: %s", event_id, e)

    def _count(self, decision: str, frames: int) -> None:
        key = {"hit": "hits", "miss": "misses"}.get(decision, "errors")
        self.counts[key] += 1
        if decision == "hit":
            today = _utc_day(self.clock.now())
            self._hits_day = (today, self._hits_on(today) + 1)
        self.counts["bursts"] += 1
        self.counts["frames_classified"] += frames

    def _hits_on(self, day: date) -> int:
        """Hits on ``day`` (UTC): the count restarts when the date changes. The first count
        starts from the hits the burst store holds for the day (a power-gated Pi boots for
        each event; hits are the last bursts the store evicts)."""
        if self._hits_day[0] is None:
            self._hits_day = (day, _stored_hits_on(self.store, day))
        counted_day, n = self._hits_day
        return n if counted_day == day else 0

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


def _utc_day(t: float) -> date:
    return datetime.fromtimestamp(t, UTC).date()


def _stored_hits_on(store: StorePort | None, day: date) -> int:
    """Hit bursts of ``day`` in a `BurstStore` (0 without one, or when it cannot say)."""
    bursts = getattr(store, "bursts", None)
    if not callable(bursts):
        return 0
    try:
        held = cast(list[Any], bursts())
        return sum(1 for b in held if b.is_hit and _utc_day(b.created) == day)
    except Exception as e:  # a telemetry counter never stops the trap
        log.warning("hits_today: cannot read the burst store: %s", e)
        return 0


def _capture(camera: Camera, n: int, interval_s: float) -> Iterator[Frame]:
    """The camera's burst, with a failure at the call itself surfacing on the first frame."""
    yield from camera.burst(n, interval_s)


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


def override(cfg: Any, source: str, **changes: Any) -> Any:
    """``dataclasses.replace`` for config sections, ignoring changes that are None."""
    try:
        return replace(cfg, **{k: v for k, v in changes.items() if v is not None})
    except (TypeError, ValueError) as e:
        raise ConfigError(source, type(cfg).__name__, str(e)) from None


def detector_from_args(args: Any, cfg: Any, source: str) -> Detector:
    """`build_detector` with the command line's --model/--labels/--target/... over the config."""
    model_cfg = override(
        cfg.model, source, path=getattr(args, "model", None), labels=getattr(args, "labels", None)
    )
    targets = tuple(getattr(args, "target", None) or ()) or None
    early = False if getattr(args, "no_early_exit", False) else None
    verdict_cfg = override(
        cfg.verdict,
        source,
        targets=targets,
        threshold=getattr(args, "threshold", None),
        rule=getattr(args, "rule", None),
        k=getattr(args, "k", None),
        early_exit=early,
    )
    return build_detector(model_cfg, verdict_cfg)


# --------------------------------------------------------------------------------------------
# Wiring: real adapters for the field, simulated ones for --sim. Chosen explicitly, never as a
# fallback; heavy and hardware imports stay inside the function that needs them.


def _outputs(
    cfg: Any,
    source: str,
    clock: Any,
    model: str,
    *,
    sim: bool,
    link: Any = None,
    battery: Callable[[], int | None] | None = None,
) -> tuple[Any, Any, Any]:
    """Outbox, burst store (or None) and publisher(s), from the config.

    ``battery`` reads the MCU's latest battery mV for the hits it forwards (power-gated).
    """
    from camtrap.adapters.outbox import Outbox
    from camtrap.adapters.store import BurstStore

    lora = cfg.lora.enabled and not sim  # the simulation never opens serial ports
    if cfg.lora.enabled and sim:
        log.info("simulation: [lora] is ignored; hits go to MQTT or are printed")
    data = Path(cfg.device.data_dir)
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(source, "device.data_dir", f"cannot create {data}: {e}") from None
    outbox = Outbox(data / "outbox.db", sinks=("mqtt", "lora") if lora else ("mqtt",))
    store = None
    if cfg.storage.enabled:
        quota = int(cfg.storage.quota_mb * 1024 * 1024)
        store = BurstStore(data / "bursts", quota, jpeg_quality=cfg.storage.jpeg_quality)
    publisher = _publisher(cfg, source, outbox, clock, model, battery)
    if lora:
        publisher = Fanout([publisher, _lora_publisher(cfg, outbox, clock, link, battery)])
    return outbox, store, publisher


def _lora_publisher(
    cfg: Any, outbox: Any, clock: Any, link: Any, battery: Callable[[], int | None] | None
) -> Any:
    """A modem on the Pi's serial port, or HIT frames to the MCU that drives the modem."""
    if cfg.lora.via == "serial":
        from camtrap.lora.sink import build_lora_sink

        return build_lora_sink(cfg.lora, outbox, clock)
    from camtrap.adapters.mcu_link import McuHitSink

    return McuHitSink(outbox, link, clock, battery=battery)


def _publisher(
    cfg: Any,
    source: str,
    outbox: Any,
    clock: Any,
    model: str,
    battery: Callable[[], int | None] | None = None,
) -> Any:
    """MQTT, or the dry-run printer; ``battery`` gives their hits the MCU's reading."""
    if cfg.mqtt.enabled:
        from camtrap.adapters.mqtt import MqttPublisher

        return MqttPublisher(
            cfg.mqtt,
            cfg.device,
            outbox,
            clock,
            cfg.homeassistant,
            model=model,
            source=source,
            battery=battery,
        )
    from camtrap.adapters.sink import DryRunSink

    return DryRunSink(
        outbox,
        sys.stdout,
        topic_prefix=cfg.mqtt.topic_prefix,
        device_id=cfg.device.id,
        clock=clock,
        battery=battery,
    )


def mqtt_of(publisher: Any) -> Any:
    """The MQTT publisher (or dry-run printer) among the publishers `_outputs` made."""
    return publisher.publishers[0] if isinstance(publisher, Fanout) else publisher


def linger_mqtt(
    publisher: Publisher,
    outbox: OutboxPort,
    bound_s: float,
    clock: Clock,
    wait: Callable[[float], object] = time.sleep,
    sink: str = "mqtt",
) -> bool:
    """Drain until no hit is pending for ``sink`` or ``bound_s`` passed; True when none is.

    Power-gated, this runs between the MCU's SHUTDOWN request and the Pi's ack, so a slow
    uplink gets its hit out before the power goes; past the bound the hit stays in the outbox
    for the next boot (never lost).
    """
    deadline = clock.monotonic() + bound_s
    while True:
        try:
            publisher.drain()
        except PeerError as e:  # the broker is down: the bound decides
            log.warning("linger: %s", e)
        if outbox.count_pending(sink) == 0:
            return True
        if clock.monotonic() >= deadline:
            log.warning("linger: hits still pending for %s after %.1f s", sink, bound_s)
            return False
        wait(FLUSH_STEP_S)


def _service(cfg: Any, detector: Any, outputs: tuple[Any, Any, Any], **kw: Any) -> Any:
    outbox, store, publisher = outputs
    return Service(
        detector=detector,
        outbox=outbox,
        store=store,
        publisher=publisher,
        policy=TriggerPolicy(cfg.trigger.cooldown_s, cfg.trigger.max_pending),
        device_id=cfg.device.id,
        frames=cfg.camera.frames,
        interval_s=cfg.camera.interval_s,
        telemetry_s=cfg.telemetry.interval_s,
        **kw,
    )


def _pir(cfg: Any, clock: Any, pin_factory: Any, allow_mock: bool) -> Any:
    from camtrap.adapters.gpio_pir import PirTrigger

    t = cfg.trigger
    return PirTrigger(
        t.pir_pin,
        cfg.device.id,
        clock,
        frame_interval_s=cfg.camera.interval_s,
        pin_factory=pin_factory,
        queue_len=t.queue_len,
        sample_rate=t.sample_rate,
        threshold=t.threshold,
        allow_mock=allow_mock,
    )


@dataclass(frozen=True)
class FieldPorts:
    """What `run_field` may be handed instead of building it (a bench rig, a system test).

    ``camera``: instead of picamera2; ``clock``: instead of the system clock; ``halt``: run
    when the MCU asks the Pi to halt, instead of ``[link] halt_command``. Everything else (the
    serial link, GPIO, outbox, publishers) is built from the config as in the field.
    """

    camera: Camera | None = None
    clock: Clock | None = None
    halt: Callable[[], None] | None = None


def run_field(
    cfg: Any, source: str, detector: Any, stop: threading.Event, ports: FieldPorts | None = None
) -> int:
    from camtrap.adapters.clock import SystemClock

    check_mode(cfg, source)
    ports = ports or FieldPorts()
    clock = ports.clock if ports.clock is not None else SystemClock()
    hooks: dict[str, Any] = {}
    own_link = battery = None
    if cfg.trigger.source == "mcu":
        from camtrap.adapters.mcu_link import open_trigger_source

        # power-gated: TRIGGER frames from the MCU
        trigger = open_trigger_source(cfg, clock, halt=ports.halt)
        link = trigger.mcu
        hooks = {"on_result": trigger.report}
        battery = trigger.read_battery
    else:
        trigger = _pir(cfg, clock, pin_factory=None, allow_mock=False)
        link = own_link = _mcu_link(cfg, clock) if _lora_via_mcu(cfg) else None
    camera = ports.camera if ports.camera is not None else _picamera2(cfg, detector)
    outputs = _outputs(cfg, source, clock, detector.model, sim=False, link=link, battery=battery)
    if cfg.trigger.source == "mcu":  # before the SHUTDOWN ack: MQTT hits out, bounded
        outbox, mqtt = outputs[0], mqtt_of(outputs[2])
        trigger.linger = lambda: linger_mqtt(mqtt, outbox, cfg.link.mqtt_linger_s, clock)
    service = _service(
        cfg, detector, outputs, trigger=trigger, camera=camera, clock=clock, stop=stop, **hooks
    )
    try:
        service.run()
    finally:
        outputs[0].close()
        if own_link is not None:
            own_link.close()
    return 0


def _picamera2(cfg: Any, detector: Any) -> Camera:
    from camtrap.adapters.picamera2_camera import Picamera2Camera

    return Picamera2Camera(
        cfg.camera, detector.classifier.input_size, jpeg_quality=cfg.storage.jpeg_quality
    )


def check_mode(cfg: Any, source: str) -> None:
    """A power-gated Pi is only ever woken by the MCU: its triggers must come over the link."""
    from camtrap.errors import ConfigError

    if cfg.device.mode == "power-gated" and cfg.trigger.source != "mcu":
        raise ConfigError(
            source, "trigger.source", 'must be "mcu" when device.mode = "power-gated"'
        )


def _lora_via_mcu(cfg: Any) -> bool:
    return cfg.lora.enabled and cfg.lora.via == "mcu"


def _mcu_link(cfg: Any, clock: Any) -> Any:
    """The serial link to the MCU when only LoRa goes through it (the Pi watches the PIR)."""
    from camtrap.adapters.mcu_link import McuLink, open_serial

    lc = cfg.link
    link = McuLink(
        open_serial(lc.port, lc.baud), clock, ack_timeout_s=lc.ack_timeout_s, retries=lc.retries
    )
    link.start()
    return link


def run_sim(
    cfg: Any, source: str, detector: Any, paths: list[str], speed: float, stop: threading.Event
) -> int:
    from gpiozero.pins.mock import MockFactory

    from camtrap.adapters.clock import SystemClock
    from camtrap.sim.bursts import discover
    from camtrap.sim.replay_camera import ReplayCamera
    from camtrap.sim.scripted_pir import ScriptedPir

    bursts = discover(paths)
    clock = SystemClock()
    camera = ReplayCamera(
        bursts, tuple(detector.classifier.input_size), pace=lambda s: stop.wait(s / speed)
    )
    factory = MockFactory()
    trigger = _pir(cfg, clock, pin_factory=factory, allow_mock=True)
    sample_s = 1 / cfg.trigger.sample_rate  # the pulse must outlast a few of gpiozero's samples
    script = ScriptedPir(
        factory.pin(cfg.trigger.pir_pin),
        bursts,
        camera,
        time_scale=1 / speed,
        settle_s=cfg.trigger.cooldown_s + 2 * sample_s + 0.2,
        give_up_s=cfg.trigger.cooldown_s + 3.0,
        pulse_s=max(0.05, 3 * sample_s),
    )
    records: list[dict[str, Any]] = []
    outbox, store, publisher = _outputs(cfg, source, clock, detector.model, sim=True)
    service = _service(
        cfg,
        detector,
        (outbox, store, publisher),
        trigger=trigger,
        camera=camera,
        clock=clock,
        stop=stop,
        linger_s=10.0,
        plan=sim_plan(camera),
        on_result=_collect(records),
        finished=lambda: script.done.is_set() and not camera.busy,
    )
    _wait_for_broker(publisher)
    script.start()
    try:
        counters = service.run()
    finally:
        script.stop()
        outbox.close()
    _print_sim_summary(records, detector, counters)
    return 0


def _wait_for_broker(publisher: Any, timeout_s: float = 10.0) -> None:
    """A short simulation should not end before its broker connection is up."""
    wait = getattr(publisher, "wait_connected", None)
    if wait is None:
        return
    publisher.start()
    if not wait(timeout_s):
        log.warning("no broker connection after %.0f s: hits wait in the outbox", timeout_s)


def sim_plan(camera: Any) -> Any:
    """Each simulated burst carries its recorded source and label, and its recorded length."""

    def plan(meta: Any) -> Any:
        recorded = camera.peek()
        if recorded is None:
            return None
        return replace(meta, source=recorded.meta.source, label=recorded.meta.label), recorded.n

    return plan


def _collect(records: list[dict[str, Any]]) -> Any:
    from camtrap.core.records import replay_record

    def on_result(meta: Any, event_id: str, result: Any) -> None:
        records.append(replay_record(meta, event_id, result.verdict, result.names))

    return on_result


def _print_sim_summary(records: list[dict[str, Any]], detector: Any, counters: Any) -> None:
    from camtrap.commands.replay import print_summary

    print_summary(records, detector.targets.names, sys.stdout)
    shown = ", ".join(f"{k} {v}" for k, v in counters.items())
    print(f"counters: {shown}", flush=True)
