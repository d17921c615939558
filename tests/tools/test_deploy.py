"""Provisioning: dry-run steps, idempotent remote scripts, the systemd unit, refusals, SD bundle."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy
import pytest

import tools.deploy as deploy

MODEL = "mymodel"
GOOD_CONFIG = f"""
[device]
id = "trap-07"
data_dir = "/var/lib/camtrap"
mode = "always-on"

[model]
path = "/var/lib/camtrap/models/{MODEL}/model.tflite"
"""


class Recorder:
    """Records every command; can fail at one call, or act (create the wheel) on one."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_at = fail_at

    def __call__(self, argv: Sequence[str]) -> int:
        self.calls.append(list(argv))
        if "wheel" in argv and "-w" in argv:  # the wheel build: make the file it would make
            out = Path(argv[argv.index("-w") + 1])
            out.mkdir(parents=True, exist_ok=True)
            (out / f"camtrap-{deploy._version()}-py3-none-any.whl").write_bytes(b"PK")
        return 1 if self.fail_at == len(self.calls) else 0


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Path]:
    model = tmp_path / MODEL
    model.mkdir()
    (model / "model.tflite").write_bytes(b"TFL3 not really a model")
    (model / "labels.txt").write_text("leopard\ndeer\n")
    sha = hashlib.sha256((model / "model.tflite").read_bytes()).hexdigest()
    (model / "model.json").write_text(json.dumps({"schema": "camtrap-model-card/1", "sha256": sha}))
    config = tmp_path / "trap-07.toml"
    config.write_text(GOOD_CONFIG)
    golden = tmp_path / "golden-leopard"
    golden.mkdir()
    (golden / "burst.json").write_text('{"schema": "camtrap-burst/1", "label": "leopard"}')
    (golden / "000.jpg").write_bytes(b"jpeg")
    return {
        "model": model,
        "config": config,
        "wheels": tmp_path / "wheels",
        "golden": golden,
        "tmp": tmp_path,
    }


def _args(site: dict[str, Path], *extra: str) -> list[str]:
    return [
        "--config",
        str(site["config"]),
        "--model",
        str(site["model"]),
        "--wheel-dir",
        str(site["wheels"]),
        "--golden",
        str(site["golden"]),
        *extra,
    ]


def _remote_scripts(calls: list[list[str]]) -> list[str]:
    """The shell scripts the ssh calls carry (unwrapping `sudo -n sh -euc '<script>'`)."""
    out = []
    for argv in calls:
        if argv[0] == "ssh":
            words = shlex.split(argv[-1])
            out.append(words[words.index("-euc") + 1])
    return out


EXPECTED_ORDER = [
    "build the camtrap wheel",
    "reach the Pi",
    "stage the wheel",
    "make the staged config private (0600)",
    "stage the model",
    "stage golden burst golden-leopard",
    "apt packages",
    "camtrap system user",
    "directories",
    "venv with --system-site-packages",
    "pin numpy",
    "TFLite runtime",
    "camtrap wheel and its pip dependencies",
    "config to /etc/camtrap/config.toml (mode 0600)",
    f"model to /var/lib/camtrap/models/{MODEL}",
    "golden bursts to /var/lib/camtrap/golden",
    "UART for the MCU link",
    "systemd unit",
    "polkit rule: the service user may power off",
    "start the service and check that it is up",
    "remove the staging directory",
]


def test_dry_run_prints_every_step_in_order_and_runs_nothing(site, capsys) -> None:
    rec = Recorder()
    assert deploy.main(["pi@trap-07.local", *_args(site, "--dry-run")], runner=rec) == 0
    out = capsys.readouterr().out
    assert rec.calls == []
    positions = [out.index(title) for title in EXPECTED_ORDER]
    assert positions == sorted(positions)
    for must in (
        "python3-picamera2",
        "python3 -m venv --system-site-packages /opt/camtrap/venv",
        "-c /opt/camtrap/constraints.txt",
        "install -o camtrap -g camtrap -m 0600",
        "enable_uart=1",
        "systemctl enable camtrap.service",
        "systemctl is-active --quiet camtrap.service",
    ):
        assert must in out, must
    assert "gpio-poweroff" not in out  # always-on: no halt signal needed


def test_deploy_runs_local_copy_and_remote_steps_over_ssh(site, capsys) -> None:
    rec = Recorder()
    assert deploy.main(["pi@trap-07.local", *_args(site)], runner=rec) == 0
    kinds = [c[0] if c[0] in ("ssh", "scp") else "local" for c in rec.calls]
    assert kinds[:6] == ["local", "ssh", "scp", "scp", "scp", "scp"]
    assert kinds[6] == "ssh" and kinds[7:9] == ["scp", "scp"]  # chmod 0600, model, golden
    assert all(k == "ssh" for k in kinds[9:])
    assert len(rec.calls) == len(EXPECTED_ORDER) + 3  # + the unit, rule and config copies
    for c in rec.calls:
        if c[0] == "ssh":
            assert c[1:5] == ["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
            assert c[5] == "pi@trap-07.local"
    reach = shlex.split(rec.calls[1][-1])
    assert reach[0] == "sh"  # the reachability check runs without sudo
    stage = re.search(r"mkdir -m 0700 (\S+)", reach[-1]).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"/tmp/camtrap-deploy\.[0-9a-f]{16}", stage)  # private, unguessable
    assert rec.calls[5][-1] == f"pi@trap-07.local:{stage}/config.toml"
    assert shlex.split(rec.calls[6][-1])[-1] == f'SRC={stage}\nchmod 0600 "$SRC/config.toml"'
    assert rec.calls[7][-1] == f"pi@trap-07.local:{stage}/models/{MODEL}"
    assert rec.calls[8][-2:] == [str(site["golden"]), f"pi@trap-07.local:{stage}/golden/"]
    assert shlex.split(rec.calls[9][-1])[:2] == ["sudo", "-n"]
    assert rec.calls[-1][-1].endswith(f"rm -rf {stage}'")


def test_every_remote_script_is_valid_shell(site) -> None:
    rec = Recorder()
    deploy.main(["pi@trap-07.local", *_args(site)], runner=rec)
    scripts = _remote_scripts(rec.calls)
    assert len(scripts) >= 5  # not vacuous: the deploy runs its steps over ssh
    for script in scripts:
        subprocess.run(["sh", "-n", "-c", script], check=True)


def test_remote_steps_are_guarded_so_a_second_run_changes_nothing(site) -> None:
    plan = deploy.validate(site["config"], site["model"], site["wheels"])
    scripts = {s.title.split(" (")[0]: s.script for s in deploy.remote_steps(plan)}
    assert scripts["apt packages"].startswith("dpkg -s ")
    assert "id -u camtrap >/dev/null 2>&1 || useradd" in scripts["camtrap system user"]
    assert scripts["venv with --system-site-packages"].startswith("test -x /opt/camtrap/venv")
    assert "grep -qxF" in scripts["UART for the MCU link"]
    model = scripts[f"model to /var/lib/camtrap/models/{MODEL}"]
    assert "sha256sum -c" in model and 'mv "' in model  # replaced whole, after a hash check


def test_boot_config_step_run_twice_enables_uart_once(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "config.txt").write_text("[all]\ndtparam=audio=on\n")
    (boot / "cmdline.txt").write_text(
        "console=serial0,115200 console=tty1 root=PARTUUID=1234-02 rootwait\n"
    )
    script = deploy.boot_config_script(halt_pin=26)
    env = {**os.environ, "CAMTRAP_BOOT": str(boot)}
    first = subprocess.run(["sh", "-euc", script], env=env, capture_output=True, text=True)
    second = subprocess.run(["sh", "-euc", script], env=env, capture_output=True, text=True)
    assert first.returncode == second.returncode == 0
    assert "reboot needed" in first.stdout and second.stdout == ""
    config = (boot / "config.txt").read_text().splitlines()
    assert config.count("enable_uart=1") == 1
    assert config.count("dtoverlay=gpio-poweroff,gpiopin=26") == 1
    assert (boot / "cmdline.txt").read_text() == "console=tty1 root=PARTUUID=1234-02 rootwait\n"


def test_power_gated_config_adds_the_halt_signal_from_the_pin_map(site, capsys) -> None:
    site["config"].write_text(GOOD_CONFIG.replace("always-on", "power-gated"))
    assert deploy.main(["pi@trap-07.local", *_args(site, "--dry-run")], runner=Recorder()) == 0
    halt = deploy._pi_pin("halt")
    assert f"dtoverlay=gpio-poweroff,gpiopin={halt}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("py", "np_version", "expected"),
    [
        ((3, 11), "1.24.2", ["ai-edge-litert", "tflite-runtime==2.14.0"]),  # Bookworm
        ((3, 11), "2.1.0", ["ai-edge-litert"]),  # tflite-runtime breaks on numpy 2
        ((3, 13), "2.2.4", ["ai-edge-litert"]),  # Trixie
        ((3, 9), "1.19.5", ["tflite-runtime==2.14.0"]),  # Bullseye
    ],
)
def test_runtime_candidates_fit_python_and_numpy(py, np_version, expected) -> None:
    assert deploy.runtime_candidates(py, np_version) == expected


def test_runtime_chooser_that_runs_on_the_pi_agrees_with_the_function() -> None:
    chooser = deploy._runtime_chooser_py()
    out = subprocess.run(
        [sys.executable, "-c", chooser], capture_output=True, text=True, check=True
    )
    here = deploy.runtime_candidates(sys.version_info[:2], numpy.__version__)
    assert out.stdout.split() == here


def test_pip_requirements_leave_apt_packages_and_the_runtime_out() -> None:
    reqs = deploy.pip_requirements()
    names = " ".join(reqs).lower()
    assert "paho-mqtt" in names and "pyserial" in names
    for apt_or_runtime in ("numpy", "pillow", "gpiozero", "ai-edge-litert"):
        assert apt_or_runtime not in names


# -- refusals: nothing touches the Pi ---------------------------------------------------------


def test_invalid_config_is_refused_before_any_step(site, capsys) -> None:
    site["config"].write_text(GOOD_CONFIG + "\n[camera]\nframes = 0\n")
    rec = Recorder()
    assert deploy.main(["pi@trap-07.local", *_args(site)], runner=rec) == 2
    assert rec.calls == []
    assert "camera.frames: must be in 1..60, got 0" in capsys.readouterr().err


def test_model_path_that_does_not_match_the_deployed_model_is_refused(site, capsys) -> None:
    site["config"].write_text(GOOD_CONFIG.replace(f"models/{MODEL}", "models/other"))
    rec = Recorder()
    assert deploy.main(["pi@trap-07.local", *_args(site)], runner=rec) == 2
    assert rec.calls == []
    assert f"model.path = '/var/lib/camtrap/models/{MODEL}/model.tflite'" in capsys.readouterr().err


def test_model_whose_hash_does_not_match_its_card_is_refused(site, capsys) -> None:
    (site["model"] / "model.tflite").write_bytes(b"changed")
    assert deploy.main(["pi@trap-07.local", *_args(site)], runner=Recorder()) == 2
    assert "model.json: sha256: card says" in capsys.readouterr().err


def test_data_dir_outside_the_writable_path_is_refused(site, capsys) -> None:
    site["config"].write_text(
        GOOD_CONFIG.replace('data_dir = "/var/lib/camtrap"', 'data_dir = "/home/pi"')
    )
    assert deploy.main(["pi@trap-07.local", *_args(site)], runner=Recorder()) == 2
    assert "device.data_dir" in capsys.readouterr().err


def test_a_failing_step_stops_the_deploy_and_names_it(site, capsys) -> None:
    rec = Recorder(fail_at=10)  # the apt step
    assert deploy.main(["pi@trap-07.local", *_args(site)], runner=rec) == 1
    assert len(rec.calls) == 11  # the failed step, then the clean-up
    assert "rm -rf /tmp/camtrap-deploy." in rec.calls[-1][-1]  # no staged config left behind
    assert "(apt packages (picamera2 comes only from apt)) failed with status 1" in (
        capsys.readouterr().err
    )


# -- the systemd unit -------------------------------------------------------------------------


def test_unit_file_has_watchdog_restart_and_sandboxing() -> None:
    unit = deploy.UNIT_FILE.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=60",
        "Restart=on-failure",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/camtrap",
        "NoNewPrivileges=yes",
        "User=camtrap",
        "ExecStart=/opt/camtrap/venv/bin/camtrap run --config /etc/camtrap/config.toml",
    ):
        assert line in unit.splitlines(), line


def test_unit_file_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing in CI (apt-get install systemd)")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    exe = tmp_path / "camtrap"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    unit = tmp_path / "camtrap.service"  # the same unit, with an ExecStart that exists here
    unit.write_text(deploy.UNIT_FILE.read_text().replace("/opt/camtrap/venv/bin/camtrap", str(exe)))
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # unknown keys are only warnings


# -- the offline first-boot bundle ------------------------------------------------------------


@pytest.fixture
def boot(tmp_path: Path) -> Path:
    b = tmp_path / "bootfs"
    b.mkdir()
    (b / "config.txt").write_text("[all]\n")
    (b / "cmdline.txt").write_text(
        "console=serial0,115200 console=tty1 root=PARTUUID=1-02 rootwait "
        "systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot "
        "systemd.unit=kernel-command-line.target\n"
    )
    return b


def test_sd_card_bundle_holds_everything_for_an_offline_install(site, boot, capsys) -> None:
    rec = Recorder()
    assert deploy.main(_args(site, "--sd-card", str(boot)), runner=rec) == 0
    dest = boot / "camtrap"
    for name in ("install.sh", "firstboot.sh", "config.toml", "camtrap.service"):
        assert (dest / name).is_file(), name
    assert (dest / "models" / MODEL / "model.tflite").read_bytes() == b"TFL3 not really a model"
    assert (dest / "golden" / "golden-leopard" / "000.jpg").read_bytes() == b"jpeg"
    assert any(c[3] == "download" for c in rec.calls if len(c) > 3)  # wheels for the Pi
    install = (dest / "install.sh").read_text()
    subprocess.run(["sh", "-n", str(dest / "install.sh")], check=True)
    subprocess.run(["sh", "-n", str(dest / "firstboot.sh")], check=True)
    assert '--no-index --find-links "$SRC/wheels"' in install
    assert install.index("apt packages") < install.index("systemd unit")
    assert "touch /var/lib/camtrap/.installed" in install


def test_sd_card_boot_files_get_uart_and_one_chained_first_boot_hook(site, boot) -> None:
    assert deploy.main(_args(site, "--sd-card", str(boot)), runner=Recorder()) == 0
    deploy.edit_boot_files(boot, None)  # a second time changes nothing
    cmdline = (boot / "cmdline.txt").read_text().split()
    assert "console=serial0,115200" not in cmdline
    assert cmdline.count(deploy.HOOK) == 1
    assert sum(a.startswith("systemd.run=") for a in cmdline) == 1
    assert (boot / "camtrap" / "chain").read_text().strip() == "/boot/firmware/firstrun.sh"
    assert (boot / "config.txt").read_text().splitlines().count("enable_uart=1") == 1


def test_sd_card_that_is_not_a_boot_partition_is_refused(site, tmp_path, capsys) -> None:
    assert deploy.main(_args(site, "--sd-card", str(tmp_path)), runner=Recorder()) == 2
    assert "not the boot partition" in capsys.readouterr().err


def test_host_and_sd_card_together_is_a_usage_error(site, boot, capsys) -> None:
    assert deploy.main(["pi@x", *_args(site, "--sd-card", str(boot))], runner=Recorder()) == 2


def test_golden_that_is_not_a_burst_is_refused(site, tmp_path, capsys) -> None:
    argv = ["pi@x", *_args(site), "--golden", str(tmp_path)]
    assert deploy.main(argv, runner=Recorder()) == 2
    assert "not a burst directory" in capsys.readouterr().err


def test_power_gated_dry_run_lists_every_fast_boot_step(site, capsys) -> None:
    from tools import fastboot

    site["config"].write_text(GOOD_CONFIG.replace("always-on", "power-gated"))
    assert deploy.main(["pi@trap-07.local", *_args(site, "--dry-run")], runner=Recorder()) == 0
    out = capsys.readouterr().out
    assert "fast boot: " in out
    assert out.index("systemd unit") < out.index("fast boot: ") < out.index("start the service")
    for line in fastboot.listing():
        assert f"# {line}" in out  # each optimisation, its effect and source, in the listing
    for change in ("boot_delay=0", "dtoverlay=disable-bt", "DefaultDependencies=no"):
        assert change in out


def test_fast_boot_is_for_power_gated_traps_and_can_be_refused(site, capsys) -> None:
    assert deploy.main(["pi@trap-07.local", *_args(site, "--dry-run")], runner=Recorder()) == 0
    assert "fast boot: " not in capsys.readouterr().out  # always-on: never boots per event
    site["config"].write_text(GOOD_CONFIG.replace("always-on", "power-gated"))
    argv = ["pi@trap-07.local", *_args(site, "--dry-run", "--no-fast-boot")]
    assert deploy.main(argv, runner=Recorder()) == 0
    assert "fast boot: " not in capsys.readouterr().out


def test_sd_card_install_moves_the_config_off_the_fat_partition_first(site, boot, tmp_path):
    assert deploy.main(_args(site, "--sd-card", str(boot)), runner=Recorder()) == 0
    dest = boot / "camtrap"
    assert (dest / deploy.POLKIT_RULE.name).is_file()
    install = (dest / "install.sh").read_text()
    assert install.index(deploy.secrets_off_the_card()) < install.index("apt packages")
    assert install.rstrip().splitlines()[-3] == f"rm -rf {deploy.SECRETS_AWAY}"
    firstboot = (dest / "firstboot.sh").read_text()
    assert firstboot.index('rm -f "$BOOT/camtrap/config.toml"') < firstboot.index(
        "cat > /etc/systemd/system/camtrap-install.service"
    )
    # run the move itself, with the private directory under tmp_path instead of /root
    away = tmp_path / "away"
    script = deploy.secrets_off_the_card().replace(deploy.SECRETS_AWAY, str(away))
    subprocess.run(["sh", "-euc", script], env={**os.environ, "SRC": str(dest)}, check=True)
    assert not (dest / "config.toml").exists()  # deleted from the card
    assert (away / "config.toml").read_text() == site["config"].read_text()
    assert (away / "config.toml").stat().st_mode & 0o777 == 0o600
    assert away.stat().st_mode & 0o777 == 0o700
    # a second run (install.sh re-run) with nothing left on the card changes nothing
    subprocess.run(["sh", "-euc", script], env={**os.environ, "SRC": str(dest)}, check=True)
    assert (away / "config.toml").is_file()


def test_notifications_add_apprise_to_what_the_pi_installs() -> None:
    assert not any("apprise" in r for r in deploy.pip_requirements())
    assert any(r.startswith("apprise") for r in deploy.pip_requirements(("notify",)))


def test_a_notify_urls_file_outside_etc_camtrap_is_refused(site, capsys) -> None:
    site["config"].write_text(
        GOOD_CONFIG + '\n[notify]\nenabled = true\nurls_file = "/home/pi/u"\n'
    )
    assert deploy.main(["pi@trap-07.local", *_args(site)], runner=Recorder()) == 2
    assert "notify.urls_file: keep it under /etc/camtrap/" in capsys.readouterr().err
