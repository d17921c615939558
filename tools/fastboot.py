"""Fast boot for a power-gated Pi: the boot optimisations ``tools/deploy.py`` applies.

The power-gated trap boots the Pi for every trigger, and every second of that boot is a second
a walking leopard spends leaving the frame (``camtrap power-budget``). Each optimisation here
says where it goes, what it does, what it is expected to save and where that comes from;
``tools/deploy.py --dry-run`` lists them, docs/field.md tables them. They are safe to apply
twice (each edit checks first) and none of them touches what the trap needs: the camera
(``camera_auto_detect`` stays), the UART to the MCU, the halt signal, SSH and Wi-Fi.

    for opt in OPTIMISATIONS: print(opt.where, opt.change)
    script = remote_script()          # the shell run on the Pi: these very edits, shipped
    edit_config_txt(text), edit_cmdline_txt(text), fast_unit(text)   # the edits, on text
"""

from __future__ import annotations

from dataclasses import dataclass

UNIT_PATH = "/etc/systemd/system/camtrap.service"
RPI_BOOT = "Raspberry Pi documentation, config.txt boot options"
RPI_OC = "Raspberry Pi documentation, config.txt overclocking options"


@dataclass(frozen=True)
class Optimisation:
    where: str  # "config.txt", "cmdline.txt", "systemd" or "camtrap unit"
    change: str  # the line, argument or unit
    effect: str
    source: str


OPTIMISATIONS: tuple[Optimisation, ...] = (
    Optimisation(
        "config.txt",
        "boot_delay=0",
        "start.elf no longer waits before loading the kernel (default 1 s): ~1 s",
        f"{RPI_BOOT}: boot_delay, default 1",
    ),
    Optimisation(
        "config.txt",
        "disable_splash=1",
        "no rainbow splash screen drawn by the firmware",
        f"{RPI_BOOT}: disable_splash",
    ),
    Optimisation(
        "config.txt",
        "force_eeprom_read=0",
        "no I2C probe for a HAT EEPROM at power-up (the trap has no HAT)",
        f"{RPI_BOOT}: force_eeprom_read",
    ),
    Optimisation(
        "config.txt",
        "disable_poe_fan=1",
        "no I2C probe for a PoE HAT fan at start-up",
        f"{RPI_BOOT}: disable_poe_fan ('useful if you need to minimise boot time')",
    ),
    Optimisation(
        "config.txt",
        "initial_turbo=60",
        "full clock from power-up until cpufreq takes over (at most 60 s): kernel and "
        "userspace start at the turbo clock instead of ramping up",
        f"{RPI_OC}: initial_turbo (maximum 60)",
    ),
    Optimisation(
        "config.txt",
        "dtoverlay=disable-bt",
        "Bluetooth off: no Bluetooth firmware load or hciuart at boot; the PL011 UART is "
        "freed for serial0, the MCU link",
        f"{RPI_BOOT} (uart_2ndstage: 'dtoverlay=disable-bt'); Raspberry Pi UART documentation",
    ),
    Optimisation(
        "config.txt",
        "dtoverlay=vc4-kms-v3d,nohdmi",
        "HDMI off: no display probing at boot and no HDMI encoder running (a headless trap)",
        "Raspberry Pi overlays README: vc4-kms-v3d parameter nohdmi",
    ),
    Optimisation(
        "cmdline.txt",
        "quiet",
        "no kernel messages on the console while booting",
        f"{RPI_BOOT}: enable_uart (cmdline 'quiet' suppresses boot messages)",
    ),
    Optimisation(
        "cmdline.txt",
        "fsck.mode=skip",
        "no root filesystem check at each boot (a gated Pi boots 20 times a day; run "
        "'sudo fsck' at a visit instead)",
        "systemd-fsck@.service(8): fsck.mode=skip",
    ),
    Optimisation(
        "cmdline.txt",
        "logo.nologo",
        "no boot logo on the framebuffer",
        "Linux kernel parameters (Documentation/admin-guide/kernel-parameters.txt): logo.nologo",
    ),
    Optimisation(
        "systemd",
        "disable hciuart.service bluetooth.service",
        "no Bluetooth services (Bluetooth is off)",
        "follows from dtoverlay=disable-bt",
    ),
    Optimisation(
        "systemd",
        "disable ModemManager.service",
        "no modem probing of serial ports at boot (it would write AT commands to serial0, "
        "the MCU link)",
        "ModemManager(8): probes serial and USB modems",
    ),
    Optimisation(
        "systemd",
        "disable dphys-swapfile.service",
        "no swap file created and activated on the SD card at each boot",
        "Raspberry Pi OS dphys-swapfile package",
    ),
    Optimisation(
        "systemd",
        "disable apt-daily.timer apt-daily-upgrade.timer man-db.timer",
        "persistent timers missed while the Pi was off fire right after every boot; no "
        "package updates or man-db rebuilds during a burst",
        "systemd.timer(5): Persistent=",
    ),
    Optimisation(
        "systemd",
        "disable NetworkManager-wait-online.service systemd-networkd-wait-online.service",
        "nothing waits for the network at boot (the outbox retries MQTT later)",
        "systemd.special(7): network-online.target",
    ),
    Optimisation(
        "systemd",
        "disable triggerhappy.service keyboard-setup.service",
        "no hotkey daemon, no console keymap set-up (no keyboard on a trap)",
        "Raspberry Pi OS Lite default services (systemd-analyze blame)",
    ),
    Optimisation(
        "camtrap unit",
        "DefaultDependencies=no, After=local-fs.target dev-serial0.device (no network wait)",
        "camtrap starts as soon as the filesystems are mounted and the MCU's UART exists, "
        "instead of after basic.target and the network; the service opens the camera before "
        "anything that can wait (MQTT connects in the background)",
        "systemd.unit(5): DefaultDependencies=, dependencies cannot be removed by a drop-in; "
        "systemd.special(7): basic.target",
    ),
)

CONFIG_LINES = tuple(o.change for o in OPTIMISATIONS if o.where == "config.txt")
CMDLINE_ARGS = tuple(o.change for o in OPTIMISATIONS if o.where == "cmdline.txt")
UNITS_OFF = tuple(
    unit
    for o in OPTIMISATIONS
    if o.where == "systemd"
    for unit in o.change.removeprefix("disable ").split()
)

# The [Unit] ordering of the installed unit under fast boot; every key here is also removed
# from the unit first, so applying it twice gives the same file.
FAST_ORDERING = (
    "DefaultDependencies=no",
    "After=local-fs.target systemd-udevd.service dev-serial0.device",
    "Wants=dev-serial0.device",
    "Conflicts=shutdown.target",
    "Before=shutdown.target",
)
_REPLACED_KEYS = ("After", "Wants", "Requires", "DefaultDependencies", "Conflicts", "Before")


def fast_unit(text: str) -> str:
    """The camtrap unit with its [Unit] ordering replaced by ``FAST_ORDERING`` (a drop-in
    cannot remove the unit's own After= lines, so the installed unit itself is rewritten)."""
    out: list[str] = []
    in_unit = False
    for line in text.splitlines():
        if line.startswith("["):
            in_unit = line.strip() == "[Unit]"
        key = line.split("=", 1)[0].strip()
        if in_unit and "=" in line and key in _REPLACED_KEYS:
            continue
        out.append(line)
        if line.strip() == "[Unit]":
            out.extend(FAST_ORDERING)
    return "\n".join(out) + "\n"


KMS = "dtoverlay=vc4-kms-v3d"


def edit_config_txt(text: str) -> str:
    """config.txt with the fast-boot lines: a bare ``dtoverlay=vc4-kms-v3d`` gains ``nohdmi``
    (another vc4 overlay line is left alone), the others are appended once under ``[all]``."""
    lines = [f"{KMS},nohdmi" if ln.strip() == KMS else ln for ln in text.splitlines()]
    present = {ln.strip() for ln in lines}
    has_vc4 = any(ln.startswith("dtoverlay=vc4-") for ln in present)
    missing = [w for w in CONFIG_LINES if w not in present and not (w.startswith(KMS) and has_vc4)]
    if missing and _last_section(lines) != "[all]":
        lines.append("[all]")  # appended lines must not land in a [pi4]-only section
    return "\n".join([*lines, *missing]) + "\n"


def _last_section(lines: list[str]) -> str:
    sections = [ln.strip() for ln in lines if ln.strip().startswith("[")]
    return sections[-1] if sections else "[all]"


def edit_cmdline_txt(text: str) -> str:
    """cmdline.txt (one line) with the fast-boot arguments, each once."""
    args = text.split()
    args += [a for a in CMDLINE_ARGS if a not in args]
    return " ".join(args) + "\n"


def apply_file_edits(boot: str, unit_path: str) -> list[str]:
    """`edit_config_txt` and `edit_cmdline_txt` on ``boot``'s files and `fast_unit` on the
    installed unit (when there is one), each written only when it changes; what changed."""
    import os
    from pathlib import Path

    done = []
    for name, edit in (("config.txt", edit_config_txt), ("cmdline.txt", edit_cmdline_txt)):
        path = Path(boot) / name
        text = path.read_text(encoding="utf-8")
        if edit(text) != text:
            path.write_text(edit(text), encoding="utf-8")
            done.append(f"camtrap: fast boot in {path}: reboot needed")
    unit = Path(unit_path)
    if unit.is_file() and fast_unit(unit.read_text(encoding="utf-8")) != unit.read_text("utf-8"):
        new = unit.with_name(unit.name + ".new")
        new.write_text(fast_unit(unit.read_text(encoding="utf-8")), encoding="utf-8")
        os.chmod(new, 0o644)
        os.replace(new, unit)
        done.append(f"camtrap: {unit}: ordered for a fast boot")
    return done


def remote_script() -> str:
    """The shell that applies every optimisation on a Pi (run as root); prints
    ``reboot needed`` when a boot file changed. The file edits are this module's own
    functions, shipped as source to the Pi's python3, so they are written once."""
    import inspect

    units = " ".join(UNITS_OFF)
    shipped = "\n".join(
        [
            f"KMS = {KMS!r}",
            f"CONFIG_LINES = {CONFIG_LINES!r}",
            f"CMDLINE_ARGS = {CMDLINE_ARGS!r}",
            f"FAST_ORDERING = {FAST_ORDERING!r}",
            f"_REPLACED_KEYS = {_REPLACED_KEYS!r}",
            *(
                inspect.getsource(f).rstrip()
                for f in (fast_unit, edit_config_txt, _last_section, edit_cmdline_txt)
            ),
            inspect.getsource(apply_file_edits).rstrip(),
            "import sys",
            "for line in apply_file_edits(sys.argv[1], sys.argv[2]):",
            "    print(line)",
        ]
    )
    return f"""\
BOOT=/boot/firmware; [ -d "$BOOT" ] || BOOT=/boot
python3 - "$BOOT" "{UNIT_PATH}" <<'CAMTRAP_FASTBOOT_PY'
{shipped}
CAMTRAP_FASTBOOT_PY
for unit in {units}; do
  if [ "$(systemctl is-enabled "$unit" 2>/dev/null)" = enabled ]; then
    systemctl disable --now "$unit" >/dev/null 2>&1 && echo "camtrap: $unit disabled"
  fi
done
systemctl daemon-reload
"""


def listing() -> list[str]:
    """One line per optimisation, for ``--dry-run`` and the docs."""
    return [f"{o.where}: {o.change} -- {o.effect}" for o in OPTIMISATIONS]
