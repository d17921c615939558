"""A service killed mid-burst loses no hit that reached the outbox.

The real `camtrap run --sim` process runs with the broker down; once it has logged a hit (the log
line comes after `Outbox.add` returned) it is SIGKILLed in the middle of the next burst. A second
run, with the broker back, must deliver that hit exactly once, under the same event id.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from camtrap.adapters.outbox import Outbox

ROOT = Path(__file__).parents[2]
DEMO_MODEL = ROOT / "models" / "camtrap-demo" / "model.tflite"
DEMO_BURSTS = ROOT / "demo" / "bursts"
pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(not DEMO_MODEL.exists(), reason="no demo model"),
]


def _bursts(dst: Path, labels: list[str]) -> Path:
    """Copy one demo burst per label, named so that they replay in the given order."""
    for i, label in enumerate(labels):
        src = sorted((DEMO_BURSTS / label).iterdir())[0]
        shutil.copytree(src, dst / f"{i:02d}-{src.name}")
    return dst


def _config(tmp_path: Path, port: int) -> Path:
    cfg = tmp_path / "trap.toml"
    cfg.write_text(
        f'[device]\nid = "kill-01"\ndata_dir = "{tmp_path / "data"}"\n'
        "[trigger]\ncooldown_s = 0.1\nsample_rate = 50\n"
        f'[camera]\ninterval_s = 0.2\n[model]\npath = "{DEMO_MODEL}"\n'
        f'[mqtt]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\n'
        "backoff_min_s = 0.1\nbackoff_max_s = 1\n"
    )
    return cfg


def _argv(cfg: Path, bursts: Path) -> list[str]:
    return [sys.executable, "-m", "camtrap", "run", "--sim", str(bursts), "--config", str(cfg)]


def _run(cfg: Path, bursts: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _argv(cfg, bursts),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_a_hit_in_the_outbox_survives_sigkill_and_is_delivered_once(
    tmp_path: Path, mosquitto, mqtt_subscriber, wait_for
):
    mosquitto.stop()  # the broker is down while the trap sees the leopard
    cfg = _config(tmp_path, mosquitto.port)
    first = _run(cfg, _bursts(tmp_path / "b1", ["leopard", "empty", "empty", "empty"]))
    hit_line, seen = "", []
    try:
        assert first.stdout is not None
        for line in first.stdout:
            seen.append(line)
            if ": hit leopard" in line:
                hit_line = line
                break
        first.send_signal(signal.SIGKILL)  # mid-run: the next burst is being captured
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    assert hit_line, "the first run never logged the hit:\n" + "".join(seen)
    event_id = hit_line.split("camtrap.service: ", 1)[1].split(":", 1)[0]

    outbox = Outbox(tmp_path / "data" / "outbox.db")
    pending = [h.event_id for h in outbox.pending("mqtt")]
    outbox.close()
    assert pending == [event_id]

    mosquitto.start()
    sub = mqtt_subscriber(mosquitto.host, mosquitto.port, "camtrap/kill-01/hit")
    second = subprocess.run(
        _argv(cfg, _bursts(tmp_path / "b2", ["empty"])),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    wait_for(lambda: sub.messages, 10, "the recovered hit")
    hits = [json.loads(payload) for _, payload, _ in sub.messages]
    assert [h["event_id"] for h in hits] == [event_id], second.stdout
    assert hits[0]["label"] == "leopard"
    assert Outbox(tmp_path / "data" / "outbox.db").count_pending() == 0
