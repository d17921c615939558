"""The doctor's checks: a trap end to end, one `Check` line per step, each saying what to do.

`camtrap doctor` runs them (`run_checks`); each check talks to the world only through the
adapters' own probes (`probe_broker`, `read_pir_level`, `snapshot`, `probe_serial`, systemd's
tools, the secrets and storage checks) or the `Deps` a test injects. The checks, in order, and
what ``--sim`` changes: see `camtrap.commands.doctor`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "FAIL", "warn", "skip"]
CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC)  # no trap runs before this was written
MIN_FREE_MB = 200.0
NO_GPIO = "no Pi GPIO here: run doctor on the Pi, or add --sim on a desktop"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name:<10} {self.detail}"
        shown = self.fix and self.status in ("FAIL", "warn")
        return text + (f"; do: {self.fix}" if shown else "")


@dataclass
class Deps:
    """What the checks talk to; tests inject fakes, the CLI uses the real things."""

    pin_factory: Any = None
    picamera2_factory: Any = None
    now: Callable[[], float] = time.time
    disk_usage: Callable[[str], Any] = shutil.disk_usage
    mqtt_timeout_s: float = 5.0
    command: Callable[[Sequence[str]], str | None] = field(default=lambda argv: _command(argv))
    boot_id: Callable[[], str | None] = field(default=lambda: _boot_id())


@dataclass
class Context:
    cfg: Any
    source: str
    sim: bool
    golden: list[Path]
    deps: Deps
    detector: Any = None
    results: list[Check] = field(default_factory=list)


def run_checks(
    config: str | None, sim: bool, golden: Sequence[str], deps: Deps, out: Any = None
) -> list[Check]:
    """Run every check, printing each line as it completes; returns them all."""
    import sys

    out = out or sys.stdout
    first = _check_config(config)
    print(first.line(), file=out, flush=True)
    if first.status == "FAIL":
        return [first]
    from camtrap.config import load_config

    cfg = load_config(config)
    ctx = Context(cfg, config or "<defaults>", sim, _golden_dirs(golden, cfg), deps)
    ctx.results.append(first)
    for check in CHECKS:
        result = _guarded(check, ctx)
        ctx.results.append(result)
        print(result.line(), file=out, flush=True)
    return ctx.results


def _guarded(check: Callable[[Context], Check], ctx: Context) -> Check:
    """A check that raises becomes a FAIL line naming the error, never a traceback."""
    name = check.__name__.removeprefix("_check_").replace("_", "-")
    try:
        return check(ctx)
    except Exception as e:
        return Check(name, "FAIL", f"{type(e).__name__}: {e}", "see the message; run with -v")


# -- the checks -------------------------------------------------------------------------------


def _check_config(config: str | None) -> Check:
    from camtrap.config import load_config
    from camtrap.errors import UsageError

    try:
        cfg = load_config(config)
    except UsageError as e:
        return Check("config", "FAIL", str(e), "fix that key (camtrap validate-config FILE)")
    where = config or "built-in defaults"
    return Check("config", "ok", f"{where}: device {cfg.device.id}, {cfg.device.mode}")


def _check_clock(ctx: Context) -> Check:
    now = datetime.fromtimestamp(ctx.deps.now(), tz=UTC)
    shown = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if now < CLOCK_FLOOR:
        return Check(
            "clock",
            "FAIL",
            f"system time {shown} is before {CLOCK_FLOOR:%Y-%m-%d}: event times would be wrong",
            "connect to a network for NTP, fit an RTC module, or let the MCU set the time",
        )
    return Check("clock", "ok", f"{shown} UTC{_ntp_note()}")


def _ntp_note() -> str:
    from camtrap.adapters.systemd import ntp_synchronized

    value = ntp_synchronized()
    return "" if value is None else f", NTP synchronized: {value}"


def _check_disk(ctx: Context) -> Check:
    data = Path(ctx.cfg.device.data_dir)
    probe = data
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = ctx.deps.disk_usage(str(probe))
    free_mb = usage.free / 1e6
    quota = ctx.cfg.storage.quota_mb
    detail = f"{free_mb:,.0f} MB free at {probe} (burst quota {quota:g} MB)"
    if free_mb < MIN_FREE_MB:
        return Check(
            "disk",
            "FAIL",
            detail + f", under {MIN_FREE_MB:g} MB",
            f"free space under {probe} or use a larger SD card; old non-hit bursts go first",
        )
    return Check("disk", "ok", detail)


def _check_model(ctx: Context) -> Check:
    from camtrap.detector import build_detector
    from camtrap.errors import UsageError

    try:
        ctx.detector = build_detector(ctx.cfg.model, ctx.cfg.verdict)
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


def _check_boot_time(ctx: Context) -> Check:
    """Kernel start -> camtrap started -> armed -> first frame, in this boot."""
    from camtrap.adapters import boot_timeline
    from camtrap.core import boottime

    if ctx.sim:
        return Check("boot-time", "skip", "--sim: no trap boot on a desktop")
    analyze = ctx.deps.command(["systemd-analyze", "time"])
    if analyze is None:
        return Check("boot-time", "skip", "no systemd-analyze here (run the doctor on the Pi)")
    try:
        times = boottime.parse_analyze_time(analyze)
    except ValueError as e:
        return Check("boot-time", "skip", f"{e}; run the doctor again in a minute")
    show = ctx.deps.command(
        ["systemctl", "show", "camtrap.service", "-p", "ExecMainStartTimestampMonotonic",
         "-p", "ActiveEnterTimestampMonotonic"]
    )  # fmt: skip
    path = Path(ctx.cfg.device.data_dir) / boot_timeline.FILE
    try:
        timeline = boot_timeline.load(path)
    except ValueError as e:
        return Check("boot-time", "FAIL", str(e), "delete it; the service writes a new one")
    report = boottime.boot_report(
        times, boottime.parse_show(show or ""), timeline, ctx.deps.boot_id() or ""
    )
    return Check("boot-time", "ok", boottime.format_report(report))


def _command(argv: Sequence[str]) -> str | None:
    from camtrap.adapters.systemd import command_output

    return command_output(argv)


def _boot_id() -> str | None:
    from camtrap.adapters.boot_timeline import read_boot_id

    return read_boot_id()


def _check_secrets(ctx: Context) -> Check:
    from camtrap.adapters.mqtt_setup import read_password
    from camtrap.adapters.secrets import secret_warnings
    from camtrap.errors import ConfigError

    m = ctx.cfg.mqtt
    if m.password_file:
        try:
            read_password(m, ctx.source)
        except ConfigError as e:
            return Check("secrets", "FAIL", str(e), "chmod 600 the file, owner camtrap")
    warned = secret_warnings(ctx.cfg, None if ctx.source == "<defaults>" else ctx.source)
    if warned:
        return Check("secrets", "warn", "; ".join(warned), "see each warning")
    if not (m.password or m.password_file):
        return Check("secrets", "ok", "no MQTT password configured")
    return Check("secrets", "ok", "password file private" + (", over TLS" if m.tls else ""))


def _check_storage(ctx: Context) -> Check:
    from camtrap.adapters.datalock import lock_holder, read_only, write_probe
    from camtrap.adapters.outbox import JOURNAL, fallback_dir

    data = Path(ctx.cfg.device.data_dir)
    if not data.is_dir():
        return Check("storage", "skip", f"{data} does not exist yet (camtrap run creates it)")
    holder = lock_holder(data)
    try:
        ro = read_only(data)
    except OSError as e:
        return Check("storage", "FAIL", f"{data}: {e}", "check the SD card (dmesg)")
    if ro:
        return Check(
            "storage",
            "FAIL",
            f"{data}: read-only filesystem (the kernel remounts a card read-only after I/O "
            "errors); the service runs degraded, hits kept in memory",
            "check dmesg, run fsck on the card or replace it",
        )
    try:
        write_probe(data)
    except OSError as e:
        return Check("storage", "FAIL", f"{data}: cannot write: {e.strerror}", "free space")
    journal = (fallback_dir() or Path("/run/camtrap")) / JOURNAL
    if journal.exists():
        return Check(
            "storage",
            "warn",
            f"{journal}: a degraded run kept hits or sent-marks aside; the service writes "
            "them to the outbox once it can",
            "leave the service running; check the card if it stays",
        )
    return Check("storage", "ok", f"{data} writable; {holder}")


CHECKS: tuple[Callable[[Context], Check], ...] = (
    _check_secrets,
    _check_clock,
    _check_disk,
    _check_storage,
    _check_model,
    _check_self_test,
    _check_camera,
    _check_pir,
    _check_broker,
    _check_mcu_link,
    _check_boot_time,
)


# -- golden bursts ------------------------------------------------------------------------------


def _golden_dirs(given: Sequence[str], cfg: Any) -> list[Path]:
    if given:
        return [Path(g) for g in given]
    installed = Path(cfg.device.data_dir) / "golden"
    if installed.is_dir():
        return [installed]
    from camtrap.sim.bursts import DEMO_GOLDEN

    demo = [REPO / d for d in DEMO_GOLDEN]
    return [d for d in demo if (d / "burst.json").is_file()]
