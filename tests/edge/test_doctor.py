"""`camtrap doctor`: one line per check, the failing check named with what to do, exit status."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
from collections import namedtuple
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from camtrap.cli import main
from camtrap.doctor import Deps, run_checks
from tests.conftest import free_port
from tests.edge.fake_picamera2 import FakeCameraWorld

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "camtrap-demo" / "model.tflite"
LEOPARD = ROOT / "demo" / "bursts" / "leopard" / "leopard-s7-000"
EMPTY = ROOT / "demo" / "bursts" / "empty" / "empty-s7-000"
NAMES = [
    "config", "secrets", "clock", "disk", "storage", "model", "self-test", "camera", "pir",
    "broker", "notify", "mcu-link", "boot-time",
]  # fmt: skip

needs_demo = pytest.mark.skipif(
    not (MODEL.is_file() and LEOPARD.is_dir() and EMPTY.is_dir()),
    reason="needs models/camtrap-demo and demo/bursts",
)
Usage = namedtuple("Usage", "total used free")


def write_config(tmp: Path, extra: str = "") -> Path:
    cfg = tmp / "trap.toml"
    cfg.write_text(
        f'[device]\nid = "doc-01"\ndata_dir = "{tmp / "data"}"\n'
        f'[model]\npath = "{MODEL}"\n'
        "[trigger]\nsample_rate = 50\n"
        '[camera]\nmain_size = [640, 480]\nsettle_frames = 1\nir_mode = "off"\n' + extra
    )
    return cfg


def doctor(cfg: Path, sim: bool, deps: Deps | None = None, golden=None) -> tuple[list, str]:
    out = io.StringIO()
    golden = golden or [str(LEOPARD), str(EMPTY)]
    checks = run_checks(str(cfg), sim, golden, deps or Deps(), out)
    return checks, out.getvalue()


def by_name(checks: list) -> dict:
    return {c.name: c for c in checks}


@needs_demo
def test_sim_doctor_passes_with_one_line_per_check(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path)
    rc = main(["doctor", "--sim", "--config", str(cfg)])
    lines = [
        x for x in capsys.readouterr().out.splitlines() if x[:4] in ("ok  ", "FAIL", "skip", "warn")
    ]
    assert rc == 0
    assert [line.split()[1] for line in lines] == NAMES
    assert by_name(doctor(cfg, sim=True)[0])["self-test"].detail.startswith("2 golden burst")


@needs_demo
def test_field_doctor_on_the_fake_camera_and_mock_pins(tmp_path: Path) -> None:
    world = FakeCameraWorld()
    deps = Deps(pin_factory=MockFactory(), picamera2_factory=world.picamera2_class())
    checks, out = doctor(write_config(tmp_path), sim=False, deps=deps)
    got = by_name(checks)
    size = got["model"].detail.split("input ")[1].split(",")[0]  # the model's, e.g. 96x96
    assert got["camera"].status == "ok"
    assert f"lores {size}, main 640x480 JPEG" in got["camera"].detail
    assert got["pir"].status == "ok" and "GPIO17 reads low" in got["pir"].detail
    assert world.open_instances == []  # the doctor closed the camera again
    assert len(out.splitlines()) == len(NAMES)


@needs_demo
def test_busy_camera_fails_and_says_to_stop_the_service(tmp_path: Path) -> None:
    world = FakeCameraWorld()
    cls = world.picamera2_class()
    held = cls()  # the service has the camera
    deps = Deps(pin_factory=MockFactory(), picamera2_factory=cls)
    checks, out = doctor(write_config(tmp_path), sim=False, deps=deps)
    cam = by_name(checks)["camera"]
    assert cam.status == "FAIL" and "busy" in cam.detail
    assert "sudo systemctl stop camtrap" in cam.fix
    assert "FAIL  camera" in out
    held.close()


@needs_demo
def test_dead_camera_fails_with_cable_advice_and_exit_status_1(tmp_path: Path) -> None:
    world = FakeCameraWorld(dead=True)
    deps = Deps(pin_factory=MockFactory(), picamera2_factory=world.picamera2_class())
    cam = by_name(doctor(write_config(tmp_path), sim=False, deps=deps)[0])["camera"]
    assert cam.status == "FAIL" and "capture timed out" in cam.detail
    assert "ribbon cable" in cam.fix


def test_bad_config_is_named_and_exits_2(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[camera]\nframes = 0\n")
    assert main(["doctor", "--sim", "--config", str(cfg)]) == 2  # misuse, as in every command
    out = capsys.readouterr().out
    assert out.startswith("FAIL  config")
    assert "camera.frames: must be in 1..60, got 0" in out and "do: fix that key" in out


@needs_demo
def test_clock_before_the_project_existed_fails(tmp_path: Path) -> None:
    checks, _ = doctor(write_config(tmp_path), sim=True, deps=Deps(now=lambda: 0.0))
    clock = by_name(checks)["clock"]
    assert clock.status == "FAIL" and "1970-01-01" in clock.detail
    assert "NTP" in clock.fix


@needs_demo
def test_full_disk_fails(tmp_path: Path) -> None:
    deps = Deps(disk_usage=lambda _p: Usage(32e9, 31.9e9, 50e6))
    disk = by_name(doctor(write_config(tmp_path), sim=True, deps=deps)[0])["disk"]
    assert disk.status == "FAIL" and "50 MB free" in disk.detail


def test_missing_model_fails_and_self_test_is_skipped(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace(str(MODEL), str(tmp_path / "none.tflite")))
    got = by_name(doctor(cfg, sim=True)[0])
    assert got["model"].status == "FAIL" and "model file not found" in got["model"].detail
    assert got["self-test"].status == "skip"


@needs_demo
def test_self_test_fails_when_a_golden_burst_is_decided_wrongly(tmp_path: Path) -> None:
    fake = tmp_path / "golden" / "not-a-leopard"
    shutil.copytree(EMPTY, fake)
    meta = json.loads((fake / "burst.json").read_text())
    (fake / "burst.json").write_text(json.dumps(meta | {"label": "leopard"}))
    checks, _ = doctor(write_config(tmp_path), sim=True, golden=[str(fake)])
    st = by_name(checks)["self-test"]
    assert st.status == "FAIL" and "not-a-leopard: miss, want hit" in st.detail


# -- broker and MCU link ----------------------------------------------------------------------


def test_a_missing_golden_path_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["doctor", "--sim", "--golden", str(tmp_path / "none")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before any check ran
    assert captured.err.strip() == (
        f"camtrap doctor: error: --golden {tmp_path / 'none'}: no such file or directory"
    )


@pytest.mark.broker
@needs_demo
def test_broker_check_connects_to_a_real_mosquitto(tmp_path: Path, mosquitto) -> None:
    port = mosquitto.port  # the shared fixture (tests/conftest.py): fails under CI=true if absent
    cfg = write_config(tmp_path, f'[mqtt]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\n')
    broker = by_name(doctor(cfg, sim=True)[0])["broker"]
    assert broker.status == "ok" and broker.detail == f"127.0.0.1:{port}: connected"


@pytest.mark.broker
@needs_demo
def test_broker_check_reads_the_password_file_as_the_service_does(tmp_path, password_broker):
    secret = tmp_path / "mqtt-password"
    secret.write_text("s3cret-pw\nthe first line is the password; this line is not\n")
    secret.chmod(0o600)
    mqtt = (
        f'[mqtt]\nenabled = true\nhost = "127.0.0.1"\nport = {password_broker.port}\n'
        f'username = "trap"\npassword_file = "{secret}"\n'
    )
    broker = by_name(doctor(write_config(tmp_path, mqtt), sim=True)[0])["broker"]
    assert broker.status == "ok", broker.detail
    assert "s3cret-pw" not in broker.detail


@needs_demo
def test_broker_that_is_down_fails_and_says_hits_wait(tmp_path: Path) -> None:
    port = free_port()
    cfg = write_config(tmp_path, f'[mqtt]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\n')
    broker = by_name(doctor(cfg, sim=True, deps=Deps(mqtt_timeout_s=1.0))[0])["broker"]
    assert broker.status == "FAIL" and "hits wait in the outbox" in broker.fix


def test_mcu_link_is_skipped_when_not_configured(tmp_path: Path) -> None:
    assert by_name(doctor(write_config(tmp_path), sim=True)[0])["mcu-link"].status == "skip"


@needs_demo
def test_mcu_link_on_a_missing_port_fails(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, f'[link]\nport = "{tmp_path / "ttyNONE"}"\n')
    cfg.write_text(cfg.read_text().replace("[trigger]\n", '[trigger]\nsource = "mcu"\n'))
    world = FakeCameraWorld()
    deps = Deps(pin_factory=MockFactory(), picamera2_factory=world.picamera2_class())
    got = by_name(doctor(cfg, sim=False, deps=deps)[0])
    assert got["pir"].status == "skip"  # the MCU watches the PIR
    assert got["mcu-link"].status == "FAIL" and "ttyNONE" in got["mcu-link"].detail


@needs_demo
def test_mcu_link_on_a_real_pty_opens(tmp_path: Path) -> None:
    controller, device = pty.openpty()
    try:
        cfg = write_config(tmp_path, f'[link]\nport = "{os.ttyname(device)}"\n')
        cfg.write_text(cfg.read_text().replace("[trigger]\n", '[trigger]\nsource = "mcu"\n'))
        world = FakeCameraWorld()
        deps = Deps(pin_factory=MockFactory(), picamera2_factory=world.picamera2_class())
        link = by_name(doctor(cfg, sim=False, deps=deps)[0])["mcu-link"]
        assert link.status == "ok" and link.detail.startswith(f"{os.ttyname(device)} opens at")
    finally:
        os.close(controller)
        os.close(device)


# -- boot time: recorded systemd output (a Pi Zero 2 W, Bookworm) and the service's timeline --

PI_ANALYZE = (
    "Startup finished in 3.015s (kernel) + 9.621s (userspace) = 12.637s \n"
    "multi-user.target reached after 9.560s in userspace.\n"
)
PI_SHOW = "ExecMainStartTimestampMonotonic=4210388\nActiveEnterTimestampMonotonic=6904120\n"
BOOT_ID = "6f1c2b4a-0d8e-4c51-9a0e-3b7f2d1e9c44"


def _systemd(analyze: str | None):
    def command(argv):
        if analyze is None:
            return None
        return analyze if argv[0] == "systemd-analyze" else PI_SHOW

    return command


def _boot_check(tmp_path: Path, timeline: dict | str | None, analyze: str | None = PI_ANALYZE):
    from camtrap import doctor as doc

    cfg = write_config(tmp_path)
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    if timeline is not None:
        text = timeline if isinstance(timeline, str) else json.dumps(timeline)
        (data / "boot-timeline.json").write_text(text)
    from camtrap.config import load_config

    deps = Deps(command=_systemd(analyze), boot_id=lambda: BOOT_ID)
    ctx = doc.Context(load_config(cfg), str(cfg), False, [], deps)
    return doc._check_boot_time(ctx)


def test_boot_time_reports_power_to_first_frame_from_systemd_and_the_service(tmp_path) -> None:
    timeline = {"boot_id": BOOT_ID, "started_s": 4.3, "armed_s": 6.9, "trigger_s": 6.95,
                "first_frame_s": 8.1}  # fmt: skip
    check = _boot_check(tmp_path, timeline)
    assert check.status == "ok"
    assert check.detail.startswith("kernel 3.0 s, camtrap started at 4.2 s, armed at 6.9 s")
    assert "trigger to frame 1.1 s: first frame 8.1 s after kernel start" in check.detail


def test_boot_time_ignores_a_timeline_from_an_earlier_boot(tmp_path) -> None:
    check = _boot_check(tmp_path, {"boot_id": "old", "started_s": 4.0, "first_frame_s": 9.0})
    assert check.status == "ok" and "no frame yet in this boot" in check.detail
    assert "armed at 6.9 s" in check.detail  # systemd's ActiveEnter (READY=1)


def test_boot_time_skips_without_systemd_and_fails_on_a_corrupt_timeline(tmp_path) -> None:
    assert _boot_check(tmp_path, None, analyze=None).status == "skip"
    unfinished = "Bootup is not yet finished (...FinishTimestampMonotonic=0).\n"
    skip = _boot_check(tmp_path, None, analyze=unfinished)
    assert skip.status == "skip" and "not finished" in skip.detail
    bad = _boot_check(tmp_path, "{not json")
    assert bad.status == "FAIL" and "boot-timeline.json" in bad.detail


def test_doctor_fails_a_password_file_others_may_read_and_warns_on_plain_mqtt(tmp_path: Path):
    secret = tmp_path / "mqtt.password"
    secret.write_text("pw\n")
    secret.chmod(0o644)
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[mqtt]\nenabled = true\npassword_file = "{secret}"\n')
    checks, _ = doctor(cfg, sim=True)
    got = by_name(checks)["secrets"]
    assert got.status == "FAIL" and "mode 0644: readable by group or others" in got.detail
    secret.chmod(0o600)
    got = by_name(doctor(cfg, sim=True)[0])["secrets"]
    assert got.status == "warn" and "the password goes over plain MQTT" in got.detail


def test_doctor_storage_reports_the_data_dir_holder_and_a_degraded_runs_journal(
    tmp_path: Path, monkeypatch
):
    from camtrap.adapters.datalock import DataDirLock
    from camtrap.adapters.outbox import JOURNAL

    data = tmp_path / "data"
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[device]\ndata_dir = "{data}"\n')
    data.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(run))
    with DataDirLock(data):
        got = by_name(doctor(cfg, sim=True)[0])["storage"]
    assert got.status == "ok" and f"in use by pid {os.getpid()}" in got.detail
    (run / JOURNAL).write_text('{"mark": ["t-1", "mqtt"]}\n')
    got = by_name(doctor(cfg, sim=True)[0])["storage"]
    assert got.status == "warn" and "a degraded run kept hits or sent-marks aside" in got.detail


def test_notify_check_counts_the_urls_and_names_a_bad_one(tmp_path, capsys):
    pytest.importorskip("apprise")
    urls = tmp_path / "notify.urls"
    urls.write_text("ntfy://ntfy.example.org/trap\njson://127.0.0.1:9/hook\n")
    urls.chmod(0o600)
    cfg = write_config(tmp_path)
    cfg.write_text(
        cfg.read_text()
        + f'[notify]\nenabled = true\nurls_file = "{urls}"\nquiet_hours = "22:00-06:00"\n'
    )
    main(["doctor", "--sim", "--config", str(cfg)])
    [line] = [x for x in capsys.readouterr().out.splitlines() if " notify " in x]
    assert line.startswith("ok") and "2 URL(s)" in line and "quiet 22:00-06:00 UTC" in line
    urls.write_text("ntfy://ntfy.example.org/trap\nnope-s3cret\n")
    main(["doctor", "--sim", "--config", str(cfg)])
    [line] = [x for x in capsys.readouterr().out.splitlines() if " notify " in x]
    assert line.startswith("FAIL") and "notify.urls_file: line 2" in line
    assert "s3cret" not in line
