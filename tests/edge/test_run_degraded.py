"""The real `camtrap run --sim` on a data directory that fills up or goes read-only.

The issue's probe: on a 3 MB tmpfs data dir the service exited 1 after 56 of 120 bursts
(``database or disk is full``) and every restart re-sent the same hits; on an ext4 remounted
read-only mid-run it exited with ``disk I/O error``, and a restart died at the first trigger.
Here the same service runs on a real small filesystem mounted in the test (root, as in CI):
it keeps classifying, delivers every hit exactly once, reports the fault in its telemetry, and
a restart on the still read-only card re-sends nothing the broker acknowledged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from smallfs import card_error, ext4_card, fill, small_fs

ROOT = Path(__file__).parents[2]
DEMO_MODEL = ROOT / "models" / "camtrap-demo" / "model.tflite"
DEMO_BURSTS = ROOT / "demo" / "bursts"
pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(not DEMO_MODEL.exists(), reason="no demo model"),
]
MiB = 1024 * 1024


def _bursts(dst: Path, labels: list[str]) -> Path:
    """Demo bursts in the given order (a label repeats by cycling through its bursts)."""
    used: dict[str, int] = {}
    for i, label in enumerate(labels):
        choices = sorted((DEMO_BURSTS / label).iterdir())
        src = choices[used.get(label, 0) % len(choices)]
        used[label] = used.get(label, 0) + 1
        shutil.copytree(src, dst / f"{i:02d}-{src.name}")
    return dst


def _config(path: Path, data: Path, port: int) -> Path:
    path.write_text(
        f'[device]\nid = "full-01"\ndata_dir = "{data}"\n'
        "[trigger]\ncooldown_s = 0.1\nsample_rate = 50\n"
        f'[camera]\ninterval_s = 0.05\n[model]\npath = "{DEMO_MODEL}"\n'
        f'[mqtt]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\n'
        "backoff_min_s = 0.1\nbackoff_max_s = 1\n"
    )
    return path


def _run(cfg: Path, bursts: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "camtrap", "run", "--sim", str(bursts), "--config", str(cfg),
         "--speed", "4"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )  # fmt: skip


def _hits(messages: list[tuple[str, str, bool]]) -> list[str]:
    return [json.loads(p)["event_id"] for t, p, _ in messages if t.endswith("/hit")]


LABELS = ["leopard", "empty", "leopard", "deer", "leopard", "empty", "leopard", "leopard"]


def test_a_full_data_dir_degrades_and_every_hit_is_delivered_once(
    tmp_path: Path, mosquitto, mqtt_subscriber, wait_for
):
    sub = mqtt_subscriber(mosquitto.host, mosquitto.port, "camtrap/full-01/#")
    with small_fs(tmp_path / "sd", 3 * MiB) as sd:
        cfg = _config(tmp_path / "trap.toml", sd / "data", mosquitto.port)
        (sd / "data").mkdir()
        fill(sd)  # the card is full before the first trigger
        first = _run(cfg, _bursts(tmp_path / "b1", LABELS))
        out = first.stdout + first.stderr
        assert first.returncode == 0, out
        wait_for(lambda: len(_hits(sub.messages)) >= 5, 10, "the five hits")
        hits = _hits(sub.messages)
        assert len(hits) == len(set(hits)) == 5, out  # each once, none lost
        assert "storage fault: " in out and "disk full" in out
        assert "hits 5" in out  # kept classifying: every leopard decided
        (sd / "filler").unlink()  # space returns
        sub.messages.clear()
        second = _run(cfg, _bursts(tmp_path / "b2", ["empty"]))
        assert second.returncode == 0, second.stdout + second.stderr
        assert _hits(sub.messages) == []  # a restart re-sends nothing the broker acknowledged


def test_a_card_remounted_read_only_mid_run_keeps_the_trap_up_and_resends_nothing(
    tmp_path: Path, mosquitto, mqtt_subscriber, wait_for
):
    sub = mqtt_subscriber(mosquitto.host, mosquitto.port, "camtrap/full-01/#")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = {"RUNTIME_DIRECTORY": str(run)}
    with ext4_card(tmp_path / "card", tmp_path / "card.img", 32 * MiB) as card:
        cfg = _config(tmp_path / "trap.toml", card / "data", mosquitto.port)
        first = subprocess.Popen(
            [sys.executable, "-m", "camtrap", "run", "--sim",
             str(_bursts(tmp_path / "b1", LABELS)), "--config", str(cfg), "--speed", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        )  # fmt: skip
        lines: list[str] = []
        try:
            assert first.stdout is not None
            for line in first.stdout:
                lines.append(line)
                if ": hit leopard" in line:
                    break
            wait_for(lambda: len(_hits(sub.messages)) >= 1, 10, "the first hit")
            card_error(card)  # the kernel remounts the card read-only under the service
            rest, _ = first.communicate(timeout=300)
        finally:
            if first.poll() is None:
                first.kill()
        out = "".join(lines) + rest
        assert first.returncode == 0, out
        wait_for(lambda: len(_hits(sub.messages)) >= 5, 10, "the five hits")
        hits = _hits(sub.messages)
        assert len(hits) == len(set(hits)) == 5, out
        assert "storage fault: " in out
        # restart on the card, still read-only: up, and nothing re-sent
        sub.messages.clear()
        second = _run(cfg, _bursts(tmp_path / "b2", ["empty", "leopard"]), env)
        out2 = second.stdout + second.stderr
        assert second.returncode == 0, out2
        wait_for(lambda: len(_hits(sub.messages)) >= 1, 10, "the new hit")
        again = _hits(sub.messages)
        assert len(again) == 1 and again[0] not in hits, out2
