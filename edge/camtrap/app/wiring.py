"""The wiring both roots share: the outputs (outbox, burst store, publishers) and the service
from the config, the trusted clock, the Pi's PIR. Heavy and hardware imports stay inside the
function that needs them, so `camtrap --help` stays fast.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from camtrap.config import Config
from camtrap.core.pipeline import Detector
from camtrap.core.ports import Camera, Clock, Publisher, StorePort, TimeKeeper, TriggerSource
from camtrap.core.thumbnail import ThumbnailSpec
from camtrap.core.trigger import TriggerPolicy
from camtrap.delivery import Fanout, linger_mqtt
from camtrap.errors import ConfigError
from camtrap.service import OnResult, Plan, Service

if TYPE_CHECKING:
    from camtrap.adapters.boot_timeline import BootTimeline
    from camtrap.adapters.dry_run import DryRunPublisher
    from camtrap.adapters.gpio_pir import PirTrigger
    from camtrap.adapters.mcu_link import McuLink
    from camtrap.adapters.mqtt import MqttPublisher
    from camtrap.adapters.notify import AppriseNotifier, NotifySetup
    from camtrap.adapters.outbox import Outbox
    from camtrap.adapters.timesync import TrustedClock

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


def build_outputs(
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


def build_service(
    cfg: Config,
    detector: Detector,
    outputs: Outputs,
    *,
    trigger: TriggerSource,
    camera: Camera,
    clock: Clock,
    stop: threading.Event,
    on_result: OnResult | None = None,
    on_storage: Callable[[str | None], None] | None = None,
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
        on_storage=on_storage,
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


def build_pir(cfg: Config, clock: Clock, pin_factory: object, allow_mock: bool) -> PirTrigger:
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
