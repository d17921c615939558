"""The field root: the real adapters (gpiozero PIR or the MCU link, picamera2, the SQLite
outbox, the burst store, paho-mqtt or the dry-run printer, a LoRa modem or the MCU) around the
`Service`. Chosen explicitly, never as a fallback for missing hardware.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from camtrap.app.wiring import Outputs, build_outputs, build_pir, build_service, trusted_clock
from camtrap.config import Config, check_mode
from camtrap.core.pipeline import Detector
from camtrap.core.ports import Camera, Clock
from camtrap.service import OnResult

if TYPE_CHECKING:
    from camtrap.adapters.mcu_link import McuLink
    from camtrap.adapters.mcu_trigger import McuTriggerSource
    from camtrap.adapters.timesync import TrustedClock


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
    from camtrap.adapters.mcu_link import HealthReport

    own_link: McuLink | None = None
    on_result: OnResult | None = None
    on_storage: HealthReport | None = None  # the MCU's heartbeat carries the storage state
    if cfg.trigger.source == "mcu":  # power-gated: triggers, battery and LoRa over the link
        trigger, outputs = _power_gated(cfg, source, detector.model, clock, ports.halt)
        on_result, on_storage = trigger.report, HealthReport(trigger.mcu)
    else:  # the Pi watches the PIR; the MCU link only when LoRa goes through it
        trigger = build_pir(cfg, clock, pin_factory=None, allow_mock=False)
        if cfg.lora.enabled and cfg.lora.via == "mcu":
            own_link = _mcu_link(cfg, clock)
            on_storage = HealthReport(own_link)
        outputs = build_outputs(cfg, source, clock, detector.model, sim=False, link=own_link)
    service = build_service(
        cfg, detector, outputs, trigger=trigger, camera=camera, clock=clock, stop=stop,
        on_result=on_result, on_storage=on_storage,
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
    outputs = build_outputs(cfg, source, clock, model, sim=False, link=trigger.mcu, battery=battery)
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
