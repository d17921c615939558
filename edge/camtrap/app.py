"""The composition root: which adapters fill the service's ports, in the field and in --sim.

`run_field` wires the real ones (gpiozero PIR or the MCU link, picamera2, the SQLite outbox,
the burst store, paho-mqtt or the dry-run printer, a LoRa modem or the MCU); `run_sim` wires
the simulated ones (the gpiozero PIR on a MockFactory pin driven by recorded PIR timing, the
replay camera) around the same `Service`. Chosen explicitly, never as a fallback for missing
hardware; heavy and hardware imports stay inside the function that needs them, so `camtrap
--help` stays fast. Nothing but wiring lives here: the loop is `camtrap.service`, the model
`camtrap.detector`, the replay rows `camtrap.replay`.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from camtrap.config import Config, check_mode
from camtrap.core.pipeline import BurstResult, Detector
from camtrap.core.ports import Camera, Clock, Publisher, StorePort, TimeKeeper, TriggerSource
from camtrap.core.thumbnail import ThumbnailSpec
from camtrap.core.trigger import TriggerPolicy
from camtrap.core.types import BurstMeta
from camtrap.delivery import Fanout, linger_mqtt
from camtrap.errors import ConfigError
from camtrap.service import OnResult, Plan, Service

if TYPE_CHECKING:
    from camtrap.adapters.boot_timeline import BootTimeline
    from camtrap.adapters.dry_run import DryRunPublisher
    from camtrap.adapters.gpio_pir import PirTrigger
    from camtrap.adapters.mcu_link import McuLink
    from camtrap.adapters.mcu_trigger import McuTriggerSource
    from camtrap.adapters.mqtt import MqttPublisher
    from camtrap.adapters.notify import AppriseNotifier, NotifySetup
    from camtrap.adapters.outbox import Outbox
    from camtrap.adapters.timesync import TrustedClock
    from camtrap.core.ports import Counter
    from camtrap.sim.replay_camera import ReplayCamera

log = logging.getLogger("camtrap.app")

Battery = Callable[[], "int | None"]  # the MCU's latest battery reading, mV
MQTT_SINKS = ("mqtt", "mqtt_image")  # the outbox sinks the MQTT publisher (or printer) empties


@dataclass(frozen=True)
class Outputs:
    """Where decided bursts go: the outbox, the burst store, and the publishers."""

    outbox: Outbox
    store: StorePort | None
    mqtt: MqttPublisher | DryRunPublisher  # the broker (or the printer standing in for it)
    publisher: Publisher  # ``mqtt``, or it with LoRa and the notifier as one `Fanout`
    notifier: AppriseNotifier | None = None

    def linger(self, bound_s: float, clock: Clock) -> bool:
        """Power-gated, before the SHUTDOWN ack: the hit, its picture and a notification that
        may go now get out, within ``bound_s``; what does not stays queued for the next boot."""
        notifier = self.notifier
        return linger_mqtt(
            self.publisher,
            self.outbox,
            bound_s,
            clock,
            sink=[s for s in self.outbox.sinks if s in MQTT_SINKS],
            busy=notifier.due if notifier is not None else lambda: False,
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


# --------------------------------------------------------------------------------------------
# The field


def run_field(
    cfg: Config,
    source: str,
    detector: Detector,
    stop: threading.Event,
    ports: FieldPorts | None = None,
) -> int:
    from camtrap.adapters.boot_timeline import BootTimeline
    from camtrap.adapters.clock import SystemClock

    check_mode(cfg, source)
    ports = ports or FieldPorts()
    base = ports.clock if ports.clock is not None else SystemClock()
    # a system test hands in its own clock: never set the test machine's clock from the MCU
    clock = trusted_clock(cfg, base, set_system=ports.clock is None and cfg.time.set_system_clock)
    camera = ports.camera if ports.camera is not None else _picamera2(cfg, detector)
    own_link: McuLink | None = None
    on_result: OnResult | None = None
    if cfg.trigger.source == "mcu":  # power-gated: triggers, battery and LoRa over the link
        trigger, outputs = _power_gated(cfg, source, detector.model, clock, ports.halt)
        on_result = trigger.report
    else:  # the Pi watches the PIR; the MCU link only when LoRa goes through it
        trigger = _pir(cfg, clock, pin_factory=None, allow_mock=False)
        if cfg.lora.enabled and cfg.lora.via == "mcu":
            own_link = _mcu_link(cfg, clock)
        outputs = _outputs(cfg, source, clock, detector.model, sim=False, link=own_link)
    service = _service(
        cfg, detector, outputs, trigger=trigger, camera=camera, clock=clock, stop=stop,
        on_result=on_result,
        timeline=BootTimeline.open(Path(cfg.device.data_dir), clock),  # for `camtrap doctor`
        timekeeper=clock,
    )  # fmt: skip
    try:
        service.run()
    finally:
        outputs.outbox.close()
        if own_link is not None:
            own_link.close()
    return 0


def _power_gated(
    cfg: Config, source: str, model: str, clock: TrustedClock, halt: Callable[[], None] | None
) -> tuple[McuTriggerSource, Outputs]:
    """The MCU's trigger source and the outputs on its link; before the SHUTDOWN ack the MQTT
    hits, their pictures and a notification that may go now get out, bounded by ``[link]
    mqtt_linger_s``."""
    from camtrap.adapters.mcu_trigger import open_trigger_source

    trigger = open_trigger_source(cfg, clock, halt=halt, timekeeper=clock)
    battery = trigger.read_battery
    outputs = _outputs(cfg, source, clock, model, sim=False, link=trigger.mcu, battery=battery)
    trigger.linger = lambda: outputs.linger(cfg.link.mqtt_linger_s, clock)
    return trigger, outputs


def _picamera2(cfg: Config, detector: Detector) -> Camera:
    from camtrap.adapters.picamera2_camera import Picamera2Camera

    return Picamera2Camera(
        cfg.camera, inference_size(cfg, detector), jpeg_quality=cfg.storage.jpeg_quality
    )


def inference_size(cfg: Config, detector: Detector) -> tuple[int, int]:
    """The frames the pipeline gets: the model input, or with regions on the working width
    (at most the main stream's) at the main stream's aspect ratio, so crops are cut from it."""
    if detector.regions is None:
        return detector.classifier.input_size
    main_w, main_h = cfg.camera.main_size
    w = min(detector.regions.working_width, main_w)
    return (w // 2 * 2, round(w * main_h / main_w) // 2 * 2)


def _mcu_link(cfg: Config, clock: Clock) -> McuLink:
    """The serial link to the MCU when only LoRa goes through it (the Pi watches the PIR)."""
    from camtrap.adapters.mcu_link import McuLink, open_serial

    lc = cfg.link
    link = McuLink(
        open_serial(lc.port, lc.baud), clock, ack_timeout_s=lc.ack_timeout_s, retries=lc.retries
    )
    link.start()
    return link


# --------------------------------------------------------------------------------------------
# The simulation


def run_sim(
    cfg: Config,
    source: str,
    detector: Detector,
    paths: list[str],
    speed: float,
    stop: threading.Event,
) -> int:
    from gpiozero.pins.mock import MockFactory

    from camtrap.adapters.clock import SystemClock
    from camtrap.replay import print_summary
    from camtrap.sim.bursts import discover
    from camtrap.sim.replay_camera import ReplayCamera, detector_decode_size
    from camtrap.sim.scripted_pir import ScriptedPir

    bursts = discover(paths)
    clock = trusted_clock(cfg, SystemClock(), set_system=False)
    camera = ReplayCamera(
        bursts,
        detector_decode_size(detector),
        pace=lambda s: stop.wait(s / speed),
        max_pixels=cfg.camera.max_pixels,
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
    records: list[dict[str, object]] = []
    outputs = _outputs(cfg, source, clock, detector.model, sim=True)
    service = _service(
        cfg,
        detector,
        outputs,
        trigger=trigger,
        camera=camera,
        clock=clock,
        stop=stop,
        linger_s=10.0,
        plan=sim_plan(camera),
        on_result=_collect(records),
        finished=lambda: script.done.is_set() and not camera.busy,
        timekeeper=clock,
    )
    _wait_for_broker(outputs.mqtt)
    script.start()
    try:
        counters = service.run()
    finally:
        script.stop()
        outputs.outbox.close()
    print_summary(records, detector.targets.names, sys.stdout, detector.targets.truth_names())
    _print_counters(counters)
    return 0


def _wait_for_broker(mqtt: MqttPublisher | DryRunPublisher, timeout_s: float = 10.0) -> None:
    """A short simulation should not end before its broker connection is up."""
    mqtt.start()
    if not mqtt.wait_connected(timeout_s):
        log.warning("no broker connection after %.0f s: hits wait in the outbox", timeout_s)


def sim_plan(camera: ReplayCamera) -> Plan:
    """Each simulated burst carries its recorded source and label, and its recorded length."""

    def plan(meta: BurstMeta) -> tuple[BurstMeta, int] | None:
        recorded = camera.peek()
        if recorded is None:
            return None
        return replace(meta, source=recorded.meta.source, label=recorded.meta.label), recorded.n

    return plan


def _collect(records: list[dict[str, object]]) -> OnResult:
    from camtrap.core.records import replay_record

    def on_result(meta: BurstMeta, event_id: str, result: BurstResult) -> None:
        target = (result.target, result.target_label)
        records.append(replay_record(meta, event_id, result.verdict, result.names, target))

    return on_result


def _print_counters(counters: dict[str, Counter]) -> None:
    shown = ", ".join(f"{k} {v}" for k, v in counters.items())
    print(f"counters: {shown}", flush=True)


# --------------------------------------------------------------------------------------------
# Shared by both


def trusted_clock(cfg: Config, base: Clock, *, set_system: bool) -> TrustedClock:
    """The clock every record is stamped with: it knows its source (`camtrap.core.timebase`)
    and logs each sync to ``<data_dir>/timesync.jsonl`` for the exports."""
    from camtrap.adapters.timesync import TrustedClock, set_system_clock

    return TrustedClock(
        base,
        trust_system=cfg.time.trust_system_clock,
        set_system=set_system_clock if set_system else None,
        sync_log=Path(cfg.device.data_dir) / "timesync.jsonl",
    )


def _outputs(
    cfg: Config,
    source: str,
    clock: Clock,
    model: str,
    *,
    sim: bool,
    link: McuLink | None = None,
    battery: Battery | None = None,
) -> Outputs:
    """Outbox, burst store (or None) and publisher(s), from the config.

    ``battery`` reads the MCU's latest battery mV for the hits it forwards (power-gated).
    """
    from camtrap import __version__
    from camtrap.adapters.outbox import Outbox, fallback_dir
    from camtrap.adapters.store import BurstStore
    from camtrap.core.exif import TrapIdentity

    lora = cfg.lora.enabled and not sim  # the simulation never opens serial ports
    if cfg.lora.enabled and sim:
        log.info("simulation: [lora] is ignored; hits go to MQTT or are printed")
    data = Path(cfg.device.data_dir)
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(source, "device.data_dir", f"cannot create {data}: {e}") from None
    notify = _notify_setup(cfg, source)
    sinks = ["mqtt"] + ["mqtt_image"] * cfg.picture.enabled + ["lora"] * lora
    sinks += [t.sink for t in notify.targets] if notify is not None else []
    outbox = Outbox(data / "outbox.db", sinks=sinks, fallback_dir=fallback_dir())
    store = None
    if cfg.storage.enabled:
        quota = int(cfg.storage.quota_mb * 1024 * 1024)
        store = BurstStore(
            data / "bursts",
            quota,
            jpeg_quality=cfg.storage.jpeg_quality,
            trap=TrapIdentity(cfg.device.id, software=f"camtrap {__version__}"),
            deployment=cfg.deployment,
        )
    pictures = data / "pictures" if sim else None  # the demo keeps what it would publish
    mqtt = _mqtt(cfg, source, outbox, clock, model, battery, pictures)
    publishers: list[Publisher] = [mqtt]
    if lora:
        publishers.append(_lora_publisher(cfg, outbox, clock, link, battery))
    notifier = None
    if notify is not None:
        from camtrap.adapters.notify import build_notifier
        from camtrap.core.alerts import trap_location

        location = trap_location(cfg.notify.location, cfg.deployment)
        notifier = build_notifier(cfg.notify, notify, outbox, clock, cfg.device.id, location)
        publishers.append(notifier)
    publisher = mqtt if len(publishers) == 1 else Fanout(publishers)
    return Outputs(outbox, store, mqtt, publisher, notifier)


def _notify_setup(cfg: Config, source: str) -> NotifySetup | None:
    """``[notify]`` checked (URLs file read, each URL checked), or None when it is off."""
    if not cfg.notify.enabled:
        return None
    from camtrap.adapters.notify import check_notify

    return check_notify(cfg.notify, source)


def _lora_publisher(
    cfg: Config, outbox: Outbox, clock: Clock, link: McuLink | None, battery: Battery | None
) -> Publisher:
    """A modem on the Pi's serial port, or HIT frames to the MCU that drives the modem."""
    if cfg.lora.via == "serial":
        from camtrap.adapters.lora_uplink import build_lora_publisher

        return build_lora_publisher(cfg.lora, outbox, clock)
    from camtrap.adapters.mcu_hits import McuHitPublisher

    if link is None:
        raise ConfigError("<config>", "lora.via", '"mcu" needs the serial link to the MCU')
    return McuHitPublisher(outbox, link, clock, battery=battery)


def _mqtt(
    cfg: Config,
    source: str,
    outbox: Outbox,
    clock: Clock,
    model: str,
    battery: Battery | None = None,
    pictures: Path | None = None,
) -> MqttPublisher | DryRunPublisher:
    """MQTT, or the dry-run printer (which writes the pictures it would publish to
    ``pictures``); ``battery`` gives their hits the MCU's reading."""
    if cfg.mqtt.enabled:
        from camtrap import __version__
        from camtrap.adapters.mqtt import MqttPublisher
        from camtrap.core.messages import Discovery

        discovery = Discovery(
            model,
            __version__,
            battery=battery is not None,  # the MCU measures it; an always-on Pi does not
            availability=cfg.device.mode != "power-gated",  # a gated Pi is off between events
            expire_after_s=cfg.homeassistant.expire_after_s,
        )
        return MqttPublisher(
            cfg.mqtt,
            cfg.device,
            outbox,
            clock,
            cfg.homeassistant,
            model=model,
            source=source,
            battery=battery,
            discovery=discovery,
        )
    from camtrap.adapters.dry_run import DryRunPublisher

    return DryRunPublisher(
        outbox,
        sys.stdout,
        topic_prefix=cfg.mqtt.topic_prefix,
        device_id=cfg.device.id,
        clock=clock,
        battery=battery,
        pictures=pictures,
    )


def _service(
    cfg: Config,
    detector: Detector,
    outputs: Outputs,
    *,
    trigger: TriggerSource,
    camera: Camera,
    clock: Clock,
    stop: threading.Event,
    on_result: OnResult | None = None,
    plan: Plan | None = None,
    finished: Callable[[], bool] = lambda: False,
    linger_s: float = 2.0,
    timeline: BootTimeline | None = None,
    timekeeper: TimeKeeper | None = None,
) -> Service:
    return Service(
        trigger=trigger,
        camera=camera,
        detector=detector,
        outbox=outputs.outbox,
        store=outputs.store,
        publisher=outputs.publisher,
        clock=clock,
        policy=TriggerPolicy(cfg.trigger.cooldown_s, cfg.trigger.max_pending),
        device_id=cfg.device.id,
        deployment_id=cfg.deployment.id,
        timekeeper=timekeeper,
        frames=cfg.camera.frames,
        interval_s=cfg.camera.interval_s,
        telemetry_s=cfg.telemetry.interval_s,
        plan=plan,
        on_result=on_result,
        finished=finished,
        stop=stop,
        linger_s=linger_s,
        timeline=timeline,
        picture=_picture_spec(cfg),
    )


def _picture_spec(cfg: Config) -> ThumbnailSpec | None:
    p = cfg.picture
    if not p.enabled:
        return None
    return ThumbnailSpec(max_bytes=p.max_bytes, max_side=p.max_side, margin=p.margin)


def _pir(cfg: Config, clock: Clock, pin_factory: object, allow_mock: bool) -> PirTrigger:
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
