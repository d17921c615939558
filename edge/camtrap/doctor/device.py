"""The doctor's checks of the trap's parts: the model and its self-test, camera, PIR, broker,
notification URLs and MCU link, each through its adapter's probe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from camtrap.doctor.base import NO_GPIO, Check, Context


def _check_model(ctx: Context) -> Check:
    from camtrap.detector import build_detector
    from camtrap.errors import UsageError

    try:
        ctx.detector = build_detector(ctx.cfg.model, ctx.cfg.verdict, ctx.cfg.regions)
    except UsageError as e:
        return Check("model", "FAIL", str(e), "check model.path, or re-run tools.deploy --model")
    d = ctx.detector
    w, h = d.classifier.input_size
    targets = ", ".join(d.targets.names)
    return Check("model", "ok", f"{d.model}, input {w}x{h}, targets {targets}, {d.rule.describe()}")


def _check_self_test(ctx: Context) -> Check:
    if ctx.detector is None:
        return Check("self-test", "skip", "no model loaded (see the model check)")
    if not ctx.golden:
        return Check(
            "self-test",
            "FAIL",
            "no golden burst found",
            f"pass --golden DIR, or copy a burst directory to {ctx.cfg.device.data_dir}/golden",
        )
    from camtrap.replay import replay
    from camtrap.sim.bursts import discover

    bursts = discover([str(p) for p in ctx.golden])
    wrong = []
    for b, record in zip(bursts, replay(bursts, ctx.detector), strict=True):
        want = _expected(b.meta.label, ctx.detector)
        got = record["verdict"]
        if want is not None and got != want:
            wrong.append(f"{Path(b.meta.source).name}: {got}, want {want}")
    if wrong:
        return Check(
            "self-test",
            "FAIL",
            "; ".join(wrong),
            "the model or runtime misbehaves: redeploy the model; with your own model, "
            "use golden bursts it must get right",
        )
    return Check("self-test", "ok", f"{len(bursts)} golden burst(s) decided as labelled")


def _expected(label: str | None, detector: Any) -> str | None:
    if label is None:
        return None
    from camtrap.core.targets import first_name

    names = {first_name(n).lower() for n in detector.targets.names}
    return "hit" if label.lower() in names else "miss"


def _check_camera(ctx: Context) -> Check:
    size = tuple(ctx.detector.classifier.input_size) if ctx.detector else (96, 96)
    if ctx.sim:
        from camtrap.sim.bursts import discover
        from camtrap.sim.replay_camera import ReplayCamera

        bursts = discover([str(p) for p in ctx.golden])
        if not bursts:
            return Check("camera", "skip", "--sim: no golden burst to replay")
        frame = next(iter(ReplayCamera(bursts, size).burst(1, 0.0)))
        h, w = frame.pixels.shape[:2]
        return Check("camera", "ok", f"simulated: replay camera, {w}x{h} frames")
    return _field_camera(ctx, size)


def _field_camera(ctx: Context, size: tuple[int, ...]) -> Check:
    from camtrap.adapters.picamera2_camera import snapshot
    from camtrap.errors import CameraError

    try:
        frame = snapshot(
            ctx.cfg.camera,
            (int(size[0]), int(size[1])),
            pin_factory=ctx.deps.pin_factory,
            picamera2_factory=ctx.deps.picamera2_factory,
        )
    except CameraError as e:
        return Check("camera", "FAIL", str(e), _camera_fix(str(e)))
    h, w = frame.pixels.shape[:2]
    mw, mh = ctx.cfg.camera.main_size
    return Check("camera", "ok", f"lores {w}x{h}, main {mw}x{mh} JPEG {len(frame.image):,} B")


def _camera_fix(message: str) -> str:
    if "not importable" in message:
        return "on the Pi: sudo apt install python3-picamera2; on a desktop: add --sim"
    if "busy" in message.lower():
        return "the service holds the camera: sudo systemctl stop camtrap, then run doctor again"
    if "IR lamp" in message:
        return "check camera.ir_pin against hardware/pinmap.toml pi.ir_lamp"
    return "check the ribbon cable (contacts, orientation) and `rpicam-hello --list-cameras`"


def _check_pir(ctx: Context) -> Check:
    trig = ctx.cfg.trigger
    if trig.source == "mcu":
        return Check("pir", "skip", "the MCU watches the PIR (trigger.source = mcu)")
    if ctx.sim:
        return _sim_pir(ctx)
    from camtrap.adapters.gpio_pir import NoGpio, read_pir_level
    from camtrap.errors import PeerError

    try:
        high = read_pir_level(trig.pir_pin, ctx.deps.pin_factory)
    except NoGpio as e:
        return Check("pir", "FAIL", str(e), NO_GPIO)
    except PeerError as e:
        fix = "is the service running (it holds the pin)? sudo systemctl stop camtrap"
        return Check("pir", "FAIL", str(e), fix)
    level = "high (motion now)" if high else "low (no motion now)"
    return Check("pir", "ok", f"GPIO{trig.pir_pin} reads {level}; wave a hand and run again")


def _sim_pir(ctx: Context) -> Check:
    """The service's own PIR code on a MockFactory pin: a pulse must become a trigger."""
    from camtrap.adapters.clock import SystemClock
    from camtrap.adapters.gpio_pir import mock_pulse_triggers

    trig = ctx.cfg.trigger
    if not mock_pulse_triggers(
        trig.pir_pin, ctx.cfg.device.id, SystemClock(), queue_len=trig.queue_len,
        sample_rate=trig.sample_rate, threshold=trig.threshold,
    ):  # fmt: skip
        return Check("pir", "FAIL", f"simulated GPIO{trig.pir_pin}: a pulse gave no trigger",
                     "check trigger.sample_rate, queue_len and threshold")  # fmt: skip
    return Check("pir", "ok", f"simulated: a pulse on GPIO{trig.pir_pin} (MockFactory) triggers")


def _check_broker(ctx: Context) -> Check:
    m = ctx.cfg.mqtt
    if not m.enabled:
        return Check("broker", "skip", "MQTT disabled ([mqtt] enabled = false)")
    from camtrap.adapters.mqtt_setup import probe_broker

    rc = probe_broker(m, ctx.cfg.device.id, ctx.source, ctx.deps.mqtt_timeout_s)
    where = f"{m.host}:{m.port}" + (" (TLS)" if m.tls else "")
    if rc is None:
        fix = "check mqtt.host/port, the network and the broker; hits wait in the outbox"
        return Check("broker", "FAIL", f"{where}: no answer in {ctx.deps.mqtt_timeout_s:g} s", fix)
    if rc != "Success":
        fix = "check mqtt.username and password_file, and the broker's ACL"
        return Check("broker", "FAIL", f"{where}: refused: {rc}", fix)
    return Check("broker", "ok", f"{where}: connected")


def _check_notify(ctx: Context) -> Check:
    """The notification URLs file reads and Apprise takes every URL (nothing is sent: a test
    message would wake a ranger; `camtrap run --sim` with the same config sends a real one)."""
    from camtrap.adapters.notify import check_notify
    from camtrap.errors import ConfigError

    n = ctx.cfg.notify
    if not n.enabled:
        return Check("notify", "skip", "not configured (notify.enabled = false)")
    try:
        setup = check_notify(n, ctx.source)
    except ConfigError as e:
        return Check("notify", "FAIL", str(e), "fix that key; URLs one a line, mode 0600")
    quiet = f", quiet {n.quiet_hours} {n.timezone}" if n.quiet_hours else ""
    every = f"at most one per {n.min_interval_s:g} s" if n.min_interval_s else "no rate limit"
    return Check("notify", "ok", f"{len(setup.targets)} URL(s) in {n.urls_file}, {every}{quiet}")


def _check_mcu_link(ctx: Context) -> Check:
    cfg = ctx.cfg
    uses_link = cfg.trigger.source == "mcu" or (cfg.lora.enabled and cfg.lora.via == "mcu")
    if not uses_link:
        return Check("mcu-link", "skip", "not configured (trigger.source = gpio, no LoRa via MCU)")
    if ctx.sim:
        return Check("mcu-link", "skip", "--sim: no MCU on a desktop (tests run the firmware VM)")
    return _serial_opens(cfg.link)


def _serial_opens(link: Any) -> Check:
    from camtrap.adapters.mcu_link import probe_serial
    from camtrap.errors import LinkError

    try:
        probe_serial(link.port, link.baud)
    except LinkError as e:
        fix = "enable the UART (tools.deploy does) and check the wiring to the MCU"
        return Check("mcu-link", "FAIL", str(e), fix)
    return Check("mcu-link", "ok", f"{link.port} opens at {link.baud} baud")
