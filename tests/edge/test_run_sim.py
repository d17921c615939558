"""`camtrap run --sim`: the service loop with the scripted PIR on a gpiozero MockFactory pin
(the real gpio_pir code) and the replay camera; ends when the bursts are used up, or on SIGTERM.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from burstkit import BLUE, RED, detector, write_burst
from gpiozero.pins.mock import MockFactory

from camtrap.adapters.clock import SystemClock
from camtrap.adapters.dry_run import DryRunPublisher
from camtrap.adapters.gpio_pir import PirTrigger
from camtrap.adapters.outbox import Outbox
from camtrap.app.sim import sim_plan
from camtrap.core.trigger import TriggerPolicy
from camtrap.service import Service
from camtrap.sim.bursts import discover
from camtrap.sim.replay_camera import ReplayCamera
from camtrap.sim.scripted_pir import ScriptedPir

ROOT = Path(__file__).parents[2]
DEMO_MODEL = ROOT / "models" / "camtrap-demo" / "model.tflite"
DEMO_BURSTS = ROOT / "demo" / "bursts"
needs_demo = pytest.mark.skipif(
    not (DEMO_MODEL.exists() and DEMO_BURSTS.is_dir()), reason="no demo model or bursts"
)


def test_scripted_pir_drives_the_real_pir_code_through_every_burst(tmp_path: Path):
    for i, colours in enumerate([[RED, RED], [BLUE, BLUE], [RED, BLUE, RED]]):
        write_burst(tmp_path / "b" / f"{i}", colours, pir_pulses=[0.0, 0.05])
    bursts = discover([tmp_path / "b"])
    stop = threading.Event()
    camera = ReplayCamera(bursts, (8, 8), pace=lambda s: stop.wait(0.01))
    factory = MockFactory()
    clock = SystemClock()
    pir = PirTrigger(
        17,
        "sim-01",
        clock,
        frame_interval_s=0.01,
        pin_factory=factory,
        sample_rate=100,
        allow_mock=True,
    )
    script = ScriptedPir(factory.pin(17), bursts, camera, settle_s=0.1, pulse_s=0.1, give_up_s=3)
    outbox, out = Outbox(tmp_path / "o.db"), io.StringIO()
    service = Service(
        trigger=pir,
        camera=camera,
        detector=detector(),
        outbox=outbox,
        store=None,
        publisher=DryRunPublisher(outbox, out, device_id="sim-01"),
        clock=clock,
        policy=TriggerPolicy(cooldown_s=0.05, max_pending=0),
        device_id="sim-01",
        frames=5,
        interval_s=0.01,
        stop=stop,
        poll_s=0.05,
        finished=lambda: script.done.is_set() and not camera.busy,
        plan=sim_plan(camera),
    )
    script.start()
    watchdog = threading.Timer(60, stop.set)  # a hung simulation fails instead of hanging
    watchdog.start()
    try:
        counters = service.run()
    finally:
        watchdog.cancel()
        script.stop()
        outbox.close()
        factory.close()
    assert camera.exhausted and not stop.is_set()
    assert (counters["bursts"], counters["hits"], counters["misses"]) == (3, 2, 1)
    assert counters["triggers"] >= 3 and script.pulses >= 3
    assert out.getvalue().count("/hit ") == 2


def sim_config(tmp_path: Path, **trigger: object) -> Path:
    extra = "".join(f"{k} = {v}\n" for k, v in trigger.items())
    cfg = tmp_path / "sim.toml"
    cfg.write_text(
        f'[device]\nid = "sim-07"\ndata_dir = "{tmp_path / "data"}"\n'
        f"[trigger]\ncooldown_s = 0.1\nsample_rate = 50\n{extra}"
        f'[camera]\ninterval_s = 0.05\n[model]\npath = "{DEMO_MODEL}"\n'
    )
    return cfg


def camtrap(*args: str) -> list[str]:
    return [sys.executable, "-m", "camtrap", *args]


@needs_demo
def test_run_sim_ends_when_the_bursts_are_used_up_with_a_summary(tmp_path: Path):
    bursts = tmp_path / "bursts"
    for label in ("leopard", "empty"):
        src = sorted((DEMO_BURSTS / label).iterdir())[0]
        shutil.copytree(src, bursts / src.name)
    proc = subprocess.run(
        camtrap("run", "--sim", str(bursts), "--config", str(sim_config(tmp_path)), "--speed", "4"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "2 bursts: 1 hit, 1 miss, 0 error" in out
    assert "precision 100.0 %, recall 100.0 %" in out
    # the bursts are in name order: empty-..., then leopard-...
    assert 'would publish camtrap/sim-07/hit {"v":1,"type":"hit","event_id":"sim-07-1"' in out
    assert "would publish camtrap/sim-07/availability offline" in out
    assert out.count("would publish camtrap/sim-07/availability online") == 1  # once, not twice
    assert len(list((tmp_path / "data" / "bursts").glob("*/sim-07-*"))) == 2
    assert (tmp_path / "data" / "outbox.db").exists()
    # every trigger is a burst or dropped (a follow-up kept past the last burst is dropped)
    [line] = [x for x in out.splitlines() if x.startswith("counters: ")]
    counters = dict(kv.rsplit(" ", 1) for kv in line.removeprefix("counters: ").split(", "))
    triggers, bursts, dropped = (
        int(counters[k]) for k in ("triggers", "bursts", "triggers_dropped")
    )
    assert (bursts, triggers) == (2, bursts + dropped)


@needs_demo
def test_run_sim_stops_cleanly_on_sigterm(tmp_path: Path):
    proc = subprocess.Popen(
        camtrap("run", "--sim", str(DEMO_BURSTS), "--config", str(sim_config(tmp_path))),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if " hit " in line or " miss " in line:  # the first burst is done: mid-run
                break
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "stopped:" in rest and "availability offline" in rest
    assert "21 bursts" not in rest  # it did stop early


@needs_demo
@pytest.mark.broker
def test_run_sim_publishes_hits_to_a_real_broker(tmp_path: Path, mosquitto, mqtt_subscriber):
    src = sorted((DEMO_BURSTS / "leopard").iterdir())[0]
    shutil.copytree(src, tmp_path / "bursts" / src.name)
    cfg = sim_config(tmp_path)
    cfg.write_text(
        cfg.read_text()
        + f'[mqtt]\nenabled = true\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
    )
    sub = mqtt_subscriber(mosquitto.host, mosquitto.port, "camtrap/sim-07/#")
    proc = subprocess.run(
        camtrap("run", "--sim", str(tmp_path / "bursts"), "--config", str(cfg), "--speed", "4"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    [payload] = sub.payloads("camtrap/sim-07/hit")
    hit = json.loads(payload)
    assert (hit["label"], hit["event_id"], hit["device_id"]) == ("leopard", "sim-07-0", "sim-07")
    assert hit["model"].startswith("camtrap-demo@")
    assert sub.payloads("camtrap/sim-07/availability")[-1] == b"offline"
    assert len(sub.payloads("camtrap/sim-07/telemetry")) >= 1
