"""Fast-boot edits: each optimisation once, sources named, nothing the trap needs touched."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools import fastboot

UNIT_FILE = Path(__file__).resolve().parents[2] / "tools" / "systemd" / "camtrap.service"
BOOKWORM_CONFIG = """\
# For more options and information see
# http://rptl.io/configtxt
dtparam=audio=on
camera_auto_detect=1
display_auto_detect=1
auto_initramfs=1
dtoverlay=vc4-kms-v3d
max_framebuffers=2
arm_64bit=1
disable_overscan=1
arm_boost=1

[cm4]
otg_mode=1

[cm5]
dtoverlay=dwc2,dr_mode=host

[all]
enable_uart=1
"""
BOOKWORM_CMDLINE = (
    "console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait "
    "cfg80211.ieee80211_regdom=GB\n"
)


def test_every_optimisation_names_its_effect_and_source() -> None:
    assert len(fastboot.OPTIMISATIONS) >= 12
    for opt in fastboot.OPTIMISATIONS:
        assert opt.where in ("config.txt", "cmdline.txt", "systemd", "camtrap unit")
        assert opt.change and opt.effect and opt.source
    assert len(fastboot.listing()) == len(fastboot.OPTIMISATIONS)


def test_config_edit_turns_hdmi_off_in_place_and_appends_the_rest_once() -> None:
    edited = fastboot.edit_config_txt(BOOKWORM_CONFIG)
    lines = edited.splitlines()
    assert "dtoverlay=vc4-kms-v3d,nohdmi" in lines and "dtoverlay=vc4-kms-v3d" not in lines
    for want in ("boot_delay=0", "disable_splash=1", "dtoverlay=disable-bt", "initial_turbo=60"):
        assert lines.count(want) == 1
    assert "camera_auto_detect=1" in lines and "enable_uart=1" in lines  # untouched
    assert fastboot.edit_config_txt(edited) == edited  # applying twice changes nothing


def test_config_lines_never_land_in_a_board_specific_section() -> None:
    edited = fastboot.edit_config_txt("dtoverlay=vc4-kms-v3d\n[pi4]\narm_boost=1\n")
    lines = edited.splitlines()
    assert lines.index("[all]") < lines.index("boot_delay=0")
    assert lines.index("[pi4]") < lines.index("[all]")


def test_another_vc4_overlay_is_left_alone() -> None:
    edited = fastboot.edit_config_txt("dtoverlay=vc4-fkms-v3d\n")
    assert "dtoverlay=vc4-fkms-v3d" in edited and "nohdmi" not in edited


def test_cmdline_edit_adds_each_argument_once_on_one_line() -> None:
    edited = fastboot.edit_cmdline_txt(BOOKWORM_CMDLINE)
    assert edited.count("\n") == 1
    assert edited.split()[:2] == ["console=tty1", "root=PARTUUID=4e639091-02"]
    for arg in ("quiet", "fsck.mode=skip", "logo.nologo"):
        assert edited.split().count(arg) == 1
    assert fastboot.edit_cmdline_txt(edited) == edited


def _run_script(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The remote script against a fake boot partition; systemctl is a recording stub."""
    boot, bin_, etc = tmp_path / "boot", tmp_path / "bin", tmp_path / "etc"
    for d in (boot, bin_, etc):
        d.mkdir(exist_ok=True)
    if not (boot / "config.txt").exists():
        (boot / "config.txt").write_text(BOOKWORM_CONFIG)
        (boot / "cmdline.txt").write_text(BOOKWORM_CMDLINE)
    stub = bin_ / "systemctl"
    stub.write_text(
        '#!/bin/sh\necho "$@" >> "$STUB_LOG"\n'
        '[ "$1" = is-enabled ] && { case "$2" in hciuart*|man-db*) echo enabled;; '
        "*) echo disabled;; esac; }\nexit 0\n"
    )
    stub.chmod(0o755)
    unit = etc / "camtrap.service"
    if not unit.exists():
        unit.write_text(UNIT_FILE.read_text())
    script = (
        fastboot.remote_script()
        .replace('BOOT=/boot/firmware; [ -d "$BOOT" ] || BOOT=/boot', f"BOOT={boot}")
        .replace(fastboot.UNIT_PATH, str(unit))
    )
    env = {"PATH": f"{bin_}:/usr/bin:/bin", "STUB_LOG": str(tmp_path / "systemctl.log")}
    return subprocess.run(
        ["sh", "-e", "-c", script], capture_output=True, text=True, env=env, check=False
    )


def test_remote_script_matches_the_python_edits_and_is_safe_to_repeat(tmp_path: Path) -> None:
    first = _run_script(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "reboot needed" in first.stdout
    boot = tmp_path / "boot"
    assert (boot / "config.txt").read_text() == fastboot.edit_config_txt(BOOKWORM_CONFIG)
    assert (boot / "cmdline.txt").read_text() == fastboot.edit_cmdline_txt(BOOKWORM_CMDLINE)
    log = (tmp_path / "systemctl.log").read_text()
    assert "disable --now hciuart.service" in log and "disable --now man-db.timer" in log
    assert "disable --now ModemManager.service" not in log  # not enabled here: left alone
    unit = (tmp_path / "etc" / "camtrap.service").read_text()
    assert unit == fastboot.fast_unit(UNIT_FILE.read_text())
    assert "ordered for a fast boot" in first.stdout
    second = _run_script(tmp_path)
    assert second.returncode == 0 and "reboot needed" not in second.stdout
    assert "ordered for a fast boot" not in second.stdout
    assert (boot / "config.txt").read_text() == fastboot.edit_config_txt(BOOKWORM_CONFIG)


@pytest.mark.parametrize("needed", ["camera_auto_detect", "enable_uart", "console=serial0"])
def test_nothing_the_trap_needs_is_switched_off(needed: str) -> None:
    assert all(needed not in o.change for o in fastboot.OPTIMISATIONS)


def test_fast_unit_replaces_the_ordering_and_keeps_everything_else() -> None:
    stock = UNIT_FILE.read_text()
    fast = fastboot.fast_unit(stock)
    unit_section = fast.split("[Service]")[0]
    assert "DefaultDependencies=no" in unit_section
    assert "network" not in "".join(
        ln for ln in unit_section.splitlines() if ln.startswith("After")
    )
    assert unit_section.count("After=") == 1
    assert fast.split("[Service]")[1] == stock.split("[Service]")[1]  # sandboxing untouched
    assert fastboot.fast_unit(fast) == fast


def test_docs_field_table_lists_every_optimisation_with_its_source() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "field.md").read_text()
    for opt in fastboot.OPTIMISATIONS:
        assert f"| {opt.where} | `{opt.change}` | {opt.effect} | {opt.source} |" in doc
