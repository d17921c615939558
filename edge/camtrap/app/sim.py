"""The simulation root (``camtrap run --sim``): the gpiozero PIR on a MockFactory pin driven
by recorded PIR timing, and the replay camera, around the same `Service` as in the field; the
replay summary and the counters at the end.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from camtrap.app.wiring import build_outputs, build_pir, build_service, trusted_clock
from camtrap.config import Config
from camtrap.core.pipeline import BurstResult, Detector
from camtrap.core.types import BurstMeta
from camtrap.service import OnResult, Plan

if TYPE_CHECKING:
    from camtrap.adapters.dry_run import DryRunPublisher
    from camtrap.adapters.mqtt import MqttPublisher
    from camtrap.core.ports import Counter
    from camtrap.sim.replay_camera import ReplayCamera

log = logging.getLogger("camtrap.app")


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
    trigger = build_pir(cfg, clock, pin_factory=factory, allow_mock=True)
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
    outputs = build_outputs(cfg, source, clock, detector.model, sim=True)
    service = build_service(
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
