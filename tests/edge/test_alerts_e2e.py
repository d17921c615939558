"""Issue 15's end-to-end check: `camtrap run --sim` against a real Mosquitto and a notification
endpoint on 127.0.0.1. Every hit gives its JSON, its picture and one notification, all with the
same event id; a broker outage in the middle of the run delays them and loses none."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from mqtt5 import V5Subscriber
from PIL import Image
from webhook import serve_webhook

from camtrap.adapters.outbox import Outbox

ROOT = Path(__file__).parents[2]
DEMO_MODEL = ROOT / "models" / "camtrap-demo" / "model.tflite"
DEMO_BURSTS = ROOT / "demo" / "bursts"
CAMTRAP_RUN = [sys.executable, "-m", "camtrap", "run", "--sim"]

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        not (DEMO_MODEL.exists() and DEMO_BURSTS.is_dir()), reason="no demo model or bursts"
    ),
]
pytest.importorskip("apprise")


def config(tmp_path: Path, broker, urls: Path) -> Path:
    cfg = tmp_path / "sim.toml"
    cfg.write_text(
        f'[device]\nid = "sim-07"\ndata_dir = "{tmp_path / "data"}"\n'
        # a second between bursts, so that the outage falls between hits
        "[trigger]\ncooldown_s = 1.0\nsample_rate = 50\n"
        f'[camera]\ninterval_s = 0.05\n[model]\npath = "{DEMO_MODEL}"\n'
        f'[mqtt]\nenabled = true\nhost = "{broker.host}"\nport = {broker.port}\n'
        "backoff_min_s = 0.1\nbackoff_max_s = 1\n"
        f'[notify]\nenabled = true\nurls_file = "{urls}"\nmin_interval_s = 0\n'
        'location = "Kedrovaya Pad, ridge trail"\nbackoff_min_s = 0.1\n'
    )
    return cfg


class Lines:
    """The lines a process writes to a stream, collected on a thread, waitable."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._cv:
                self.lines.append(line)
                self._cv.notify_all()

    def wait_count(self, needle: str, n: int, timeout: float) -> bool:
        with self._cv:
            return self._cv.wait_for(
                lambda: sum(needle in x for x in self.lines) >= n, timeout=timeout
            )

    def text(self) -> str:
        self._thread.join(5)
        return "".join(self.lines)


def test_run_sim_hit_json_picture_and_one_notification_share_the_event_id_through_an_outage(
    tmp_path, mosquitto_factory, wait_for
):
    for src in sorted((DEMO_BURSTS / "leopard").iterdir())[:3]:
        shutil.copytree(src, tmp_path / "bursts" / src.name)
    broker = mosquitto_factory(
        f"listener {{port}} 127.0.0.1\nallow_anonymous true\n"
        f"persistence true\npersistence_location {tmp_path}/\n"
    )
    consumer = V5Subscriber(broker.host, broker.port, "camtrap/sim-07/#", client_id="consumer")
    with serve_webhook() as endpoint:
        urls = tmp_path / "notify.urls"
        urls.write_text(f"# the ranger's phone\njson://127.0.0.1:{endpoint.port}/hook\n")
        urls.chmod(0o600)
        proc = subprocess.Popen(
            [
                *CAMTRAP_RUN,
                str(tmp_path / "bursts"),
                "--config",
                str(config(tmp_path, broker, urls)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert proc.stderr is not None and proc.stdout is not None
            out, err = Lines(proc.stdout), Lines(proc.stderr)  # the log goes to stdout
            first = lambda: consumer.on("camtrap/sim-07/hit") or proc.poll() is not None  # noqa: E731
            wait_for(first, 60, "the first hit at the broker")
            assert proc.poll() is None, err.text()
            broker.stop()  # the outage: the next hits wait in the outbox
            before = len(consumer.on("camtrap/sim-07/hit"))
            assert out.wait_count(": hit ", before + 1, 60), "no hit decided during the outage"
            broker.start()
            proc.wait(120)
        finally:
            if proc.poll() is None:
                proc.kill()
        output = out.text()
        assert proc.returncode == 0, err.text()
        assert "3 bursts: 3 hit" in output
        hits = {
            json.loads(m[1])["event_id"]: json.loads(m[1])
            for m in consumer.on("camtrap/sim-07/hit")
        }
        pictures = {m[3]["event_id"]: m[1] for m in consumer.on("camtrap/sim-07/hit/image")}
        assert set(hits) == {"sim-07-0", "sim-07-1", "sim-07-2"}  # none lost
        assert len(consumer.on("camtrap/sim-07/hit")) > before  # some came after the outage
        assert set(pictures) == set(hits)  # each picture paired with its hit by the property
        for jpeg in pictures.values():
            assert len(jpeg) <= 30_000
            with Image.open(io.BytesIO(jpeg)) as img:
                assert img.format == "JPEG" and max(img.size) <= 640
        assert sorted(endpoint.event_ids) == sorted(hits)  # one notification per event id
        for sent in endpoint.accepted:
            (event_id,) = [e for e in hits if f"[{e}]" in sent["message"]]
            assert base64.b64decode(sent["attachments"][0]["base64"]) == pictures[event_id]
            assert "Location: Kedrovaya Pad, ridge trail" in sent["message"]
            assert sent["title"].startswith("Leopard at sim-07")
    consumer.close()
    box = Outbox(tmp_path / "data" / "outbox.db")
    assert box.count_pending() == 0  # everything acknowledged: nothing left to re-send
    box.close()
    assert f"127.0.0.1:{endpoint.port}" not in output + err.text()  # the URL is never logged
