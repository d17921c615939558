"""The service with pictures and notifications wired in: a hit is queued with its picture (or
with a counted reason instead), the dry run keeps the pictures it would publish, the outputs
get one outbox sink per destination, linger waits for the picture and a due notification, and
`camtrap validate-config` names a bad ``[notify]`` key."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from burstkit import BLUE, RED, detector, write_burst
from PIL import Image

from camtrap.adapters.dry_run import DryRunPublisher
from camtrap.adapters.outbox import Outbox
from camtrap.config import parse_config
from camtrap.core.thumbnail import ThumbnailSpec
from camtrap.core.trigger import TriggerPolicy
from camtrap.core.types import BurstMeta, Hit
from camtrap.core.verdict import Rule
from camtrap.delivery import linger_mqtt
from camtrap.service import Service
from camtrap.sim.bursts import discover
from camtrap.sim.clock import ManualClock
from camtrap.sim.replay_camera import ReplayCamera

ROOT = Path(__file__).parents[2]


class OneTrigger:
    def __init__(self, clock: ManualClock, n: int = 1) -> None:
        self.clock, self.left = clock, n

    def wait(self, timeout_s: float | None) -> BurstMeta | None:
        if not self.left:
            return None
        self.left -= 1
        return BurstMeta("pir", "trap-01", self.clock.now(), 0.5)

    def close(self) -> None: ...

    overflowed = 0

    def counters(self) -> dict[str, int]:
        return {}


def service(tmp_path: Path, colours, picture: ThumbnailSpec | None, pictures: Path | None = None):
    write_burst(tmp_path / "bursts" / "b0", colours, label="leopard", size=(160, 120))
    clock = ManualClock(now=1_795_000_000.0)
    camera = ReplayCamera(discover([tmp_path / "bursts"]), (8, 8), pace=clock.advance)
    outbox = Outbox(tmp_path / "o.db", sinks=("mqtt", "mqtt_image"))
    out = io.StringIO()
    publisher = DryRunPublisher(outbox, out, device_id="trap-01", clock=clock, pictures=pictures)
    svc = Service(
        trigger=OneTrigger(clock),
        camera=camera,
        detector=detector(Rule("k_of_n", 2, 0.5)),
        outbox=outbox,
        store=None,
        publisher=publisher,
        clock=clock,
        policy=TriggerPolicy(cooldown_s=5.0, max_pending=0),
        device_id="trap-01",
        frames=3,
        interval_s=0.5,
        picture=picture,
    )
    return svc, outbox, out


def test_a_hit_is_published_with_its_picture_and_the_dry_run_keeps_it(tmp_path):
    svc, outbox, out = service(tmp_path, [RED, RED, BLUE], ThumbnailSpec(), tmp_path / "pics")
    svc.step()
    text = out.getvalue()
    assert "would publish camtrap/trap-01/hit {" in text
    assert "would publish camtrap/trap-01/hit/image <JPEG, " in text and "trap-01-0>" in text
    with Image.open(tmp_path / "pics" / "trap-01-0.jpg") as img:
        assert img.format == "JPEG" and img.size == (160, 120)  # the stored frame, full size
        assert img.getpixel((80, 60))[0] > 200  # the red (target) frame, not the blue one
    assert svc.counters()["pictures"] == 1 and outbox.count_pending() == 0
    outbox.close()


def red_noise(path: Path, seed: int) -> None:
    """A frame the colour classifier calls leopard (mostly red) that JPEG cannot shrink."""
    rng = np.random.default_rng(seed)
    px = np.zeros((120, 160, 3), np.uint8)
    px[..., 0] = rng.integers(150, 256, (120, 160))
    px[..., 1:] = rng.integers(0, 60, (120, 160, 2))
    Image.fromarray(px).save(path, quality=95)


def test_a_picture_over_budget_is_counted_and_the_hit_goes_without_it(tmp_path):
    spec = ThumbnailSpec(max_bytes=1000, max_side=160, min_side=160, qualities=(20,))
    svc, outbox, out = service(tmp_path, [RED, RED, RED], spec)
    for i in range(3):  # the same burst, its frames replaced by noise
        red_noise(tmp_path / "bursts" / "b0" / f"{i:03d}.jpg", i)
    svc.camera = ReplayCamera(discover([tmp_path / "bursts"]), (8, 8), pace=lambda s: None)
    svc.step()
    counters = svc.counters()
    assert counters["hits"] == 1 and counters["pictures_over_budget"] == 1
    assert "pictures" not in counters
    assert "/hit {" in out.getvalue() and "/hit/image" not in out.getvalue()
    assert outbox.count_pending() == 0  # no picture row was queued to wait forever
    outbox.close()


def test_without_a_picture_spec_hits_go_without_pictures(tmp_path):
    svc, outbox, out = service(tmp_path, [RED, RED, RED], None)
    svc.step()
    assert "/hit {" in out.getvalue() and "/hit/image" not in out.getvalue()
    assert "pictures" not in svc.counters()
    outbox.close()


class Acks:
    """A publisher that acknowledges one pending delivery per drain, sink by sink."""

    def __init__(self, outbox: Outbox, sinks: tuple[str, ...]) -> None:
        self.outbox, self.sinks, self.drains = outbox, sinks, 0

    def start(self) -> None: ...

    def drain(self) -> int:
        self.drains += 1
        for sink in self.sinks:
            for h in self.outbox.pending(sink, limit=1):
                self.outbox.mark_sent(h.event_id, sink)
                return 1
        return 0

    def publish_telemetry(self, counters: object) -> None: ...

    def stop(self) -> None: ...


def test_linger_waits_for_the_picture_and_for_a_notification_that_is_due(tmp_path):
    clock = ManualClock()
    outbox = Outbox(tmp_path / "o.db", sinks=("mqtt", "mqtt_image"))
    outbox.add(Hit("trap-01-1", 1, "trap-01", 1.8e9, "leopard", 0.9, 2, 2), image=b"\xff\xd8x")
    pub = Acks(outbox, ("mqtt", "mqtt_image"))
    due = iter([True, True, True, False])
    ok = linger_mqtt(
        pub,
        outbox,
        10.0,
        clock,
        wait=clock.advance,
        sink=("mqtt", "mqtt_image"),
        busy=lambda: next(due),
    )
    assert ok and outbox.count_pending() == 0 and pub.drains >= 4
    outbox.close()


def test_outputs_give_each_destination_its_outbox_sink(tmp_path):
    from camtrap.app.wiring import build_outputs

    urls = tmp_path / "notify.urls"
    urls.write_text("json://127.0.0.1:9/hook\n")
    urls.chmod(0o600)
    cfg = parse_config(
        {
            "device": {"data_dir": str(tmp_path / "data")},
            "notify": {"enabled": True, "urls_file": str(urls)},
        },
        "trap.toml",
    )
    outputs = build_outputs(cfg, "trap.toml", ManualClock(), "m@1", sim=True)
    try:
        sinks = outputs.outbox.sinks
        assert sinks[:2] == ("mqtt", "mqtt_image") and len(sinks) == 3
        assert sinks[2].startswith("notify_") and outputs.notifier is not None
    finally:
        outputs.outbox.close()
    off = parse_config(
        {"device": {"data_dir": str(tmp_path / "d2")}, "picture": {"enabled": False}}, "t.toml"
    )
    outputs = build_outputs(off, "t.toml", ManualClock(), "m@1", sim=True)
    assert outputs.outbox.sinks == ("mqtt",) and outputs.notifier is None
    outputs.outbox.close()


def validate(tmp_path: Path, notify: str, urls: str | None) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "trap.toml"
    path = tmp_path / "notify.urls"
    if urls is not None:
        path.write_text(urls)
        path.chmod(0o600)
    cfg.write_text(f'[notify]\nenabled = true\nurls_file = "{path}"\n{notify}')
    return subprocess.run(
        [sys.executable, "-m", "camtrap", "validate-config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("notify", "urls", "key"),
    [
        ("", "json://127.0.0.1/ok\nnotvalid://s3cret-token@x\n", "notify.urls_file: line 2"),
        ("", "mailto\n", "notify.urls_file: line 1"),
        ("", None, "notify.urls_file: cannot read"),
        ('quiet_hours = "22:00-25:00"\n', "json://h/x\n", "notify.quiet_hours"),
        ('timezone = "Mars/Olympus"\n', "json://h/x\n", "notify.timezone"),
        ("backoff_min_s = 60\nbackoff_max_s = 30\n", "json://h/x\n", "notify.backoff_min_s"),
    ],
)
def test_validate_config_names_a_bad_notify_key_with_exit_2(tmp_path, notify, urls, key):
    pytest.importorskip("apprise")
    proc = validate(tmp_path, notify, urls)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert key in proc.stderr and "s3cret-token" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_validate_config_accepts_good_notification_urls(tmp_path):
    pytest.importorskip("apprise")
    urls = "# phone\nntfy://ntfy.example.org/trap-07\njson://127.0.0.1:8080/hook\n"
    proc = validate(tmp_path, 'quiet_hours = "22:00-06:00"\ntimezone = "Asia/Vladivostok"\n', urls)
    assert proc.returncode == 0, proc.stderr
