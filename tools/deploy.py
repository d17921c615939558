"""Deploy camtrap to a Raspberry Pi over SSH, idempotently; or write an offline first-boot bundle.

    python -m tools.deploy pi@trap-07.local --config t7.toml --model models/camtrap-demo --dry-run
    python -m tools.deploy pi@trap-07.local --config t7.toml --model models/camtrap-demo
    python -m tools.deploy --sd-card /media/me/bootfs --config t7.toml --model models/camtrap-demo

The config is validated (strictly, as the service will) before anything touches the Pi; a bad
config or model exits with status 2. Then, over SSH (passwordless sudo, as on Raspberry Pi OS):
apt packages (picamera2 and friends), a ``camtrap`` system user, a venv with
``--system-site-packages`` (picamera2 only comes from apt), the TFLite runtime that fits the Pi's
Python and numpy (numpy pinned to the system's), the camtrap wheel, the config at
``/etc/camtrap/config.toml`` (0600), the model under ``/var/lib/camtrap/models/``, the UART for
the MCU link (and the gpio-poweroff halt signal in power-gated mode), the systemd unit, and in
power-gated mode the fast boot (``tools/fastboot.py``: every trigger is a boot; skip it with
``--no-fast-boot``); then it restarts the service and checks that it is active. Every remote
step is safe to run again. ``--dry-run`` prints every step and runs none.

``--sd-card BOOT`` writes the same steps as ``camtrap/install.sh`` onto a freshly flashed SD
card's boot partition, with wheels for the Pi, and hooks a first-boot script into
``cmdline.txt`` (chaining Raspberry Pi Imager's own ``firstrun.sh`` if there is one).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import re
import secrets
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from camtrap.adapters.model_card import CARD_NAME, read_card_json
from camtrap.config import Config, load_config
from camtrap.errors import CamtrapError, PeerError, UsageError
from camtrap.sim.bursts import DEMO_GOLDEN
from tools import fastboot

ROOT = Path(__file__).resolve().parents[1]
UNIT_FILE = ROOT / "tools" / "systemd" / "camtrap.service"
FIRSTBOOT_FILE = ROOT / "tools" / "firstboot.sh"
PINMAP = ROOT / "hardware" / "pinmap.toml"
WHEEL_DIR = ROOT / "build" / "deploy"

VENV = "/opt/camtrap/venv"
ETC = "/etc/camtrap"
DATA = "/var/lib/camtrap"
MODELS = f"{DATA}/models"
UNIT = "/etc/systemd/system/camtrap.service"
STAGE = "/tmp/camtrap-deploy"  # + a random suffix per run: private (0700), made fresh
SECRETS_AWAY = "/root/camtrap-install"  # the SD-card config moves here off the FAT partition
POLKIT_RULE = ROOT / "tools" / "systemd" / "50-camtrap-poweroff.rules"
POLKIT_DIR = "/etc/polkit-1/rules.d"
APT_PACKAGES = (
    "python3-picamera2",
    "python3-venv",
    "python3-pip",
    "python3-numpy",
    "python3-pil",
    "python3-gpiozero",
    "python3-lgpio",
)
APT_PROVIDED = {"numpy", "pillow", "gpiozero", "lgpio"}  # from apt, never from pip on the Pi
RUNTIMES = {"ai-edge-litert", "tflite-runtime"}  # chosen on the Pi, see runtime_candidates
SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=15")


@dataclass(frozen=True)
class Step:
    """One deploy step: ``local`` (argv here), ``copy`` (argv here) or ``remote`` (a script)."""

    kind: str
    title: str
    argv: tuple[str, ...] = ()
    script: str = ""
    root: bool = True  # remote scripts run under sudo


@dataclass(frozen=True)
class Plan:
    config: Config
    config_path: Path
    model_dir: Path
    model_name: str
    model_sha256: str
    wheel: Path
    requirements: tuple[str, ...]
    halt_pin: int | None  # gpio-poweroff pin in power-gated mode
    golden: tuple[Path, ...] = ()  # bursts `camtrap doctor` replays as its self-test
    fast_boot: bool = False  # apply tools/fastboot.py (power-gated: every trigger is a boot)


Runner = Callable[[Sequence[str]], int]


class DeployError(PeerError):
    """A deploy step failed on this machine or on the Pi."""


# -- validation: everything that can be checked before touching the Pi -------------------------


def validate(
    config_path: Path,
    model_dir: Path,
    wheel_dir: Path = WHEEL_DIR,
    golden: Sequence[Path] | None = None,
) -> Plan:
    cfg = load_config(config_path)  # ConfigError (a UsageError) names the file and key
    model_name, sha = _check_model(model_dir)
    expected_model = f"{MODELS}/{model_name}/model.tflite"
    if cfg.model.path != expected_model:
        raise UsageError(
            f"{config_path}: model.path: the model is deployed to {expected_model}, "
            f"but the config says {cfg.model.path!r}; set model.path = {expected_model!r}"
        )
    if not (cfg.device.data_dir == DATA or cfg.device.data_dir.startswith(DATA + "/")):
        raise UsageError(
            f"{config_path}: device.data_dir: must be {DATA} or below it (the only path the "
            f"sandboxed service may write), got {cfg.device.data_dir!r}"
        )
    if cfg.mqtt.password_file and not cfg.mqtt.password_file.startswith(ETC + "/"):
        raise UsageError(
            f"{config_path}: mqtt.password_file: keep it under {ETC}/ (copy it there yourself, "
            "mode 0600, owner camtrap); deploy never copies secrets other than the config"
        )
    if cfg.notify.enabled and not cfg.notify.urls_file.startswith(ETC + "/"):
        raise UsageError(
            f"{config_path}: notify.urls_file: keep it under {ETC}/ (copy it there yourself, "
            "mode 0600, owner camtrap: the URLs hold tokens); deploy never copies it"
        )
    halt = _pi_pin("halt") if cfg.device.mode == "power-gated" else None
    return Plan(
        config=cfg,
        config_path=config_path,
        model_dir=model_dir,
        model_name=model_name,
        model_sha256=sha,
        wheel=wheel_dir / f"camtrap-{_version()}-py3-none-any.whl",
        requirements=pip_requirements(("notify",) if cfg.notify.enabled else ()),
        halt_pin=halt,
        golden=_check_golden(golden),
        fast_boot=cfg.device.mode == "power-gated",
    )


def _check_golden(given: Sequence[Path] | None) -> tuple[Path, ...]:
    """Golden bursts for the doctor's self-test: given, else the demo's leopard and empty."""
    dirs = list(given) if given is not None else [ROOT / d for d in DEMO_GOLDEN]
    for d in dirs:
        if not (d / "burst.json").is_file():
            if given is None:
                return ()  # no demo bursts in this checkout: the doctor will say so
            raise UsageError(f"{d}: --golden: not a burst directory (no burst.json)")
    names = [d.resolve().name for d in dirs]
    if len(set(names)) != len(names):
        raise UsageError(f"--golden: two bursts share a directory name: {sorted(names)}")
    return tuple(dirs)


def _check_model(model_dir: Path) -> tuple[str, str]:
    tflite = model_dir / "model.tflite"
    if not tflite.is_file():
        raise UsageError(f"{model_dir}: no model.tflite in the model directory")
    if not (model_dir / "labels.txt").is_file():
        raise UsageError(f"{model_dir}: no labels.txt beside model.tflite")
    sha = hashlib.sha256(tflite.read_bytes()).hexdigest()
    card = model_dir / CARD_NAME
    if card.is_file():
        want = read_card_json(card).get("sha256", "")  # the service's own card reader
        if want and want != sha:
            raise UsageError(f"{card}: sha256: card says {want[:12]}..., file is {sha[:12]}...")
    name = model_dir.resolve().name
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise UsageError(f"{model_dir}: model directory name must be [A-Za-z0-9._-]+")
    return name, sha


def _pi_pin(name: str) -> int:
    from camtrap.pinmap import load_pinmap  # validated: a pin used twice is refused here

    pins = load_pinmap(PINMAP).pi
    if name not in pins:
        raise UsageError(f"{PINMAP}: pi.{name}: missing")
    return pins[name]


def _pyproject() -> dict:
    from camtrap.tomlfile import read_toml

    return read_toml(ROOT / "pyproject.toml")


def _version() -> str:
    return str(_pyproject()["project"]["version"])


def pip_requirements(extras: Sequence[str] = ()) -> tuple[str, ...]:
    """camtrap's dependencies that pip installs on the Pi: not apt's, not the runtime; with
    the optional ``extras`` the config needs (``notify``: Apprise)."""
    keep = []
    project = _pyproject()["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    for req in wanted:
        name = re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].strip().lower()
        if name not in APT_PROVIDED and name not in RUNTIMES:
            keep.append(req.split(";")[0].strip())
    return tuple(keep)


# -- the TFLite runtime that fits the Pi ----------------------------------------------------------


def runtime_candidates(py: tuple[int, int], numpy_version: str) -> list[str]:
    """pip requirements to try, best first, for this Python and the system numpy.

    LiteRT (ai-edge-litert) supports Python 3.10-3.14 and numpy 1.23+ and 2.x. tflite-runtime
    2.14 is the fallback for Python <= 3.11 with numpy < 2 (with numpy 2 it imports but
    Interpreter() fails).
    """
    numpy_major = int(numpy_version.split(".")[0]) if numpy_version else 0
    out = []
    if (3, 10) <= py <= (3, 14):
        out.append("ai-edge-litert")
    if py <= (3, 11) and numpy_major < 2:
        out.append("tflite-runtime==2.14.0")
    return out


def _runtime_chooser_py() -> str:
    """Python run by the Pi's venv: prints the candidates for its own Python and numpy."""
    src = inspect.getsource(runtime_candidates)
    return (
        src + "import sys, numpy\n"
        "print(' '.join(runtime_candidates(sys.version_info[:2], numpy.__version__)))\n"
    )


RUNTIME_IMPORT = {
    "ai-edge-litert": "from ai_edge_litert.interpreter import Interpreter",
    "tflite-runtime": "from tflite_runtime.interpreter import Interpreter",
}


# -- the steps ----------------------------------------------------------------------------------


def serial_config_lines(halt_pin: int | None) -> list[str]:
    """The ``config.txt`` lines the link needs: the UART, and the halt signal when power-gated."""
    lines = ["enable_uart=1"]
    if halt_pin is not None:
        lines.append(f"dtoverlay=gpio-poweroff,gpiopin={halt_pin}")
    return lines


SERIAL_CONSOLE = "console=(serial0|ttyAMA0|ttyS0),[0-9]+"  # a cmdline.txt argument to remove


def edit_serial_boot_files(
    boot: Path, config_lines: list[str], console: str = SERIAL_CONSOLE
) -> list[str]:
    """``config_lines`` in ``config.txt`` and no argument matching ``console`` in
    ``cmdline.txt``, idempotently; returns one line per change made.

    The only code that edits the boot files for the link: it runs here on an SD card's boot
    partition (`edit_boot_files`) and, shipped as its own source, on the Pi
    (`boot_config_script`). So it stays self-contained (its imports inside)."""
    import re
    from pathlib import Path

    done = []
    config = Path(boot) / "config.txt"
    lines = config.read_text(encoding="utf-8").splitlines()
    added = [w for w in config_lines if w not in lines]
    if added:
        config.write_text("\n".join(lines + added) + "\n", encoding="utf-8")
        done += [f"camtrap: added {w} to {config}: reboot needed" for w in added]
    cmdline = Path(boot) / "cmdline.txt"
    args = cmdline.read_text(encoding="utf-8").split()
    kept = [a for a in args if not re.fullmatch(console, a)]
    if kept != args:
        cmdline.write_text(" ".join(kept) + "\n", encoding="utf-8")
        done.append(f"camtrap: serial console removed from {cmdline}: reboot needed")
    return done


def boot_config_script(halt_pin: int | None) -> str:
    """The remote step: `edit_serial_boot_files` run by the Pi's own python3 on its boot
    partition (``$CAMTRAP_BOOT``, else /boot/firmware, else /boot), guarded by greps for the
    same lines and pattern so a second run does not even start Python."""
    src = inspect.getsource(edit_serial_boot_files)
    lines = serial_config_lines(halt_pin)
    present = " && ".join(f'grep -qxF {shlex.quote(x)} "$BOOT/config.txt"' for x in lines)
    return "\n".join(
        [
            'BOOT="${CAMTRAP_BOOT:-}"',
            'if [ -z "$BOOT" ]; then BOOT=/boot/firmware; [ -d "$BOOT" ] || BOOT=/boot; fi',
            f'if {present} && ! grep -qE {shlex.quote(SERIAL_CONSOLE)} "$BOOT/cmdline.txt"; then',
            "  :",
            "else",
            "python3 - \"$BOOT\" <<'CAMTRAP_BOOT_PY'",
            "import sys",
            "from pathlib import Path",
            f"SERIAL_CONSOLE = {SERIAL_CONSOLE!r}",
            src.rstrip(),
            f"for line in edit_serial_boot_files(Path(sys.argv[1]), {lines!r}):",
            "    print(line)",
            "CAMTRAP_BOOT_PY",
            "fi",
        ]
    )


def fast_boot_step() -> Step:
    """The boot optimisations (tools/fastboot.py), each listed as a comment in the script."""
    listing = "\n".join(f"# {line}" for line in fastboot.listing())
    return Step(
        "remote",
        f"fast boot: {len(fastboot.OPTIMISATIONS)} boot optimisations (power-gated)",
        script=f"{listing}\n{fastboot.remote_script()}",
    )


def remote_steps(plan: Plan, offline: bool = False) -> list[Step]:
    """The steps run as root on the Pi, in order; each one is idempotent."""
    pip = f"{VENV}/bin/python -m pip"
    index = '--no-index --find-links "$SRC/wheels"' if offline else ""
    model_dst = f"{MODELS}/{plan.model_name}"
    reqs = " ".join(shlex.quote(r) for r in plan.requirements)
    apt = " ".join(APT_PACKAGES)
    steps = [
        Step(
            "remote",
            "apt packages (picamera2 comes only from apt)",
            script=f"dpkg -s {apt} >/dev/null 2>&1 || "
            "{ apt-get update -q && DEBIAN_FRONTEND=noninteractive "
            f"apt-get install -y -q --no-install-recommends {apt}; }}",
        ),
        Step(
            "remote",
            "camtrap system user (groups video, gpio, dialout)",
            script="id -u camtrap >/dev/null 2>&1 || useradd --system --home-dir "
            f"{DATA} --shell /usr/sbin/nologin camtrap\n"
            "usermod -a -G video,gpio,dialout camtrap",
        ),
        Step(
            "remote",
            "directories",
            script="install -d -m 0755 /opt/camtrap\n"
            f"install -d -o camtrap -g camtrap -m 0750 {DATA} {MODELS}\n"
            f"install -d -o root -g camtrap -m 0750 {ETC}",
        ),
        Step(
            "remote",
            "venv with --system-site-packages",
            script=f"test -x {VENV}/bin/python || "
            f"python3 -m venv --system-site-packages {VENV}\n"
            f'{VENV}/bin/python -c "import numpy, picamera2" '
            '|| { echo "camtrap: the venv cannot import numpy and picamera2 from apt"; exit 1; }',
        ),
        Step(
            "remote",
            "pin numpy to the system's (picamera2 is built against it)",
            script=f"{VENV}/bin/python -c "
            "\"import numpy; print('numpy==' + numpy.__version__)\" "
            "> /opt/camtrap/constraints.txt\n"
            "cat /opt/camtrap/constraints.txt",
        ),
        Step(
            "remote",
            "TFLite runtime that fits this Python and numpy",
            script=_runtime_script(index),
        ),
        Step(
            "remote",
            "camtrap wheel and its pip dependencies",
            script=f"{pip} install -q {index} -c /opt/camtrap/constraints.txt {reqs}\n"
            f'{pip} install -q --no-deps --force-reinstall "$SRC/{plan.wheel.name}"\n'
            f"{VENV}/bin/camtrap --version",
        ),
        Step(
            "remote",
            f"config to {ETC}/config.toml (mode 0600)",
            script=_config_script(offline),
        ),
        Step(
            "remote",
            f"model to {model_dst}",
            script=f'rm -rf "{model_dst}.new"\n'
            f'cp -r "$SRC/models/{plan.model_name}" "{model_dst}.new"\n'
            f'echo "{plan.model_sha256}  {model_dst}.new/model.tflite" | sha256sum -c --quiet -\n'
            f'chown -R camtrap:camtrap "{model_dst}.new"\n'
            f'rm -rf "{model_dst}" && mv "{model_dst}.new" "{model_dst}"',
        ),
        Step(
            "remote",
            f"golden bursts to {plan.config.device.data_dir}/golden (doctor's self-test)",
            script=_golden_script(plan),
        ),
        Step(
            "remote",
            "UART for the MCU link"
            + (" and the halt signal (gpio-poweroff)" if plan.halt_pin is not None else ""),
            script=boot_config_script(plan.halt_pin),
        ),
        Step(
            "remote",
            "systemd unit",
            script=f'install -m 0644 "$SRC/camtrap.service" {UNIT}\n'
            "systemctl daemon-reload\nsystemctl enable camtrap.service",
        ),
        *([fast_boot_step()] if plan.fast_boot else []),
        Step(
            "remote",
            "polkit rule: the service user may power off (the MCU's halt request)",
            script=f"install -d -m 0755 {POLKIT_DIR}\n"
            f'install -m 0644 "$SRC/{POLKIT_RULE.name}" {POLKIT_DIR}/{POLKIT_RULE.name}',
        ),
        Step(
            "remote",
            "start the service and check that it is up",
            script="systemctl restart camtrap.service || true\n"
            "if systemctl is-active --quiet camtrap.service; then\n"
            "  systemctl --no-pager status camtrap.service | head -n 5\n"
            "else\n"
            "  journalctl -u camtrap.service -n 30 --no-pager\n"
            '  echo "camtrap: the service did not start; run: sudo -u camtrap '
            f'{VENV}/bin/camtrap doctor --config {ETC}/config.toml"; exit 1\n'
            "fi",
        ),
    ]
    return steps


def _config_script(offline: bool) -> str:
    """Over SSH the staged copy; from an SD card the copy the first boot moved off the FAT
    partition (``SECRETS_AWAY``), gone once installed, so a second run keeps /etc's."""
    install = f"install -o camtrap -g camtrap -m 0600 {{src}} {ETC}/config.toml"
    check = f"{VENV}/bin/camtrap validate-config {ETC}/config.toml"
    if not offline:
        return install.format(src='"$SRC/config.toml"') + "\n" + check
    away = f"{SECRETS_AWAY}/config.toml"
    return f'if [ -f "{away}" ]; then {install.format(src=away)} && rm -f "{away}"; fi\n' + check


def secrets_off_the_card() -> str:
    """Shell lines moving the config (it may hold secrets) off the boot partition, which anyone
    who mounts the card can read (FAT has no permissions), and deleting it there."""
    return "\n".join(
        [
            'if [ -f "$SRC/config.toml" ]; then',
            f"  install -d -m 0700 {SECRETS_AWAY}",
            f'  install -m 0600 "$SRC/config.toml" {SECRETS_AWAY}/config.toml',
            '  rm -f "$SRC/config.toml"',
            "  sync",
            "fi",
        ]
    )


def _golden_script(plan: Plan) -> str:
    dst = f"{plan.config.device.data_dir}/golden"
    return (
        f'rm -rf "{dst}.new" && mkdir -p "{dst}.new"\n'
        f'if [ -d "$SRC/golden" ]; then cp -r "$SRC/golden/." "{dst}.new/"; fi\n'
        f'chown -R camtrap:camtrap "{dst}.new"\n'
        f'rm -rf "{dst}" && mv "{dst}.new" "{dst}"'
    )


def _runtime_script(index: str) -> str:
    chooser = _runtime_chooser_py()
    imports = " ".join(f"{k}={shlex.quote(v)}" for k, v in RUNTIME_IMPORT.items())
    return "\n".join(
        [
            f"CANDIDATES=$({VENV}/bin/python -c {shlex.quote(chooser)})",
            'echo "camtrap: runtime candidates: $CANDIDATES"',
            "ok=",
            "for req in $CANDIDATES; do",
            '  name="${req%%=*}"',
            f"  case $name in {' '.join(_case_arms())} esac",
            f"  if {VENV}/bin/python -m pip install -q {index} "
            '-c /opt/camtrap/constraints.txt "$req" '
            f'&& {VENV}/bin/python -c "$check"; then ok=$req; break; fi',
            "done",
            f'[ -n "$ok" ] || {{ echo "camtrap: no TFLite runtime fits ({imports})"; exit 1; }}',
            'echo "camtrap: runtime $ok"',
        ]
    )


def _case_arms() -> list[str]:
    return [f"{name}) check={shlex.quote(code)};;" for name, code in RUNTIME_IMPORT.items()]


def wheel_step(plan: Plan) -> Step:
    argv = (sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(plan.wheel.parent))
    return Step("local", "build the camtrap wheel", argv=(*argv, str(ROOT)))


def new_stage() -> str:
    """A staging directory name nobody can guess (so nobody can create it first)."""
    return f"{STAGE}.{secrets.token_hex(8)}"


def ssh_steps(host: str, plan: Plan, stage: str = STAGE) -> list[Step]:
    """Everything the SSH deploy does, local and remote, in order.

    The staging directory is made fresh and private (``mkdir -m 0700`` fails if it exists) and
    the staged config is made 0600 at once; `cleanup_step` removes it, on failure too.
    """
    model_to = f"{host}:{stage}/models/{plan.model_name}"
    golden = f"{host}:{stage}/golden/"
    prep = [
        wheel_step(plan),
        Step(
            "remote",
            "reach the Pi, check passwordless sudo, make the private staging directory",
            script="sudo -n true 2>/dev/null || "
            '{ echo "camtrap: the ssh user needs passwordless sudo"; exit 1; }\n'
            '. /etc/os-release && echo "$PRETTY_NAME, $(python3 --version)"\n'
            f"umask 077 && mkdir -m 0700 {stage} && mkdir {stage}/models {stage}/golden",
            root=False,
        ),
        Step("copy", "stage the wheel", argv=("scp", "-q", str(plan.wheel), f"{host}:{stage}/")),
        Step("copy", "stage the unit", argv=("scp", "-q", str(UNIT_FILE), f"{host}:{stage}/")),
        Step(
            "copy",
            "stage the polkit rule",
            argv=("scp", "-q", str(POLKIT_RULE), f"{host}:{stage}/"),
        ),
        Step(
            "copy",
            "stage the config",
            argv=("scp", "-q", str(plan.config_path), f"{host}:{stage}/config.toml"),
        ),
        Step(
            "remote",
            "make the staged config private (0600)",
            script='chmod 0600 "$SRC/config.toml"',
            root=False,
        ),
        Step("copy", "stage the model", argv=("scp", "-q", "-r", str(plan.model_dir), model_to)),
        *(
            Step("copy", f"stage golden burst {d.name}", argv=("scp", "-q", "-r", str(d), golden))
            for d in plan.golden
        ),
    ]
    return [*prep, *remote_steps(plan), cleanup_step(stage)]


def cleanup_step(stage: str) -> Step:
    return Step("remote", "remove the staging directory", script=f"rm -rf {stage}")


def ssh_argv(host: str, step: Step, stage: str = STAGE) -> list[str]:
    body = f"SRC={stage}\n{step.script}"
    shell = f"sh -euc {shlex.quote(body)}"
    return ["ssh", *SSH_OPTIONS, host, f"sudo -n {shell}" if step.root else shell]


# -- running ----------------------------------------------------------------------------------


def describe(step: Step, number: int, total: int) -> str:
    head = f"[{number}/{total}] {step.kind}: {step.title}"
    if step.kind == "remote":
        body = "\n".join("      " + line for line in step.script.splitlines())
        return f"{head}\n{body}"
    return f"{head}\n      {shlex.join(step.argv)}"


def execute(
    host: str,
    steps: list[Step],
    runner: Runner,
    dry_run: bool,
    stage: str = STAGE,
    on_failure: Step | None = None,
) -> None:
    """Run the steps in order; on a failure, run ``on_failure`` (best effort), then raise."""
    for i, step in enumerate(steps, 1):
        print(describe(step, i, len(steps)), flush=True)
        if dry_run:
            continue
        argv = ssh_argv(host, step, stage) if step.kind == "remote" else list(step.argv)
        rc = runner(argv)
        if rc != 0:
            if on_failure is not None:
                print(f"cleaning up: {on_failure.title}", flush=True)
                runner(ssh_argv(host, on_failure, stage))
            raise DeployError(f"step {i}/{len(steps)} ({step.title}) failed with status {rc}")


def default_runner(argv: Sequence[str]) -> int:
    try:
        return subprocess.run(list(argv), check=False).returncode
    except FileNotFoundError as e:
        raise DeployError(f"{argv[0]}: not found ({e})") from None


# -- the offline first-boot bundle ------------------------------------------------------------


def install_script(plan: Plan) -> str:
    """The remote steps as one script, run once by camtrap-install.service after first boot."""
    parts = [
        "#!/bin/sh",
        "# camtrap offline install, written by `python -m tools.deploy --sd-card`.",
        "# Runs once (camtrap-install.service) after the first boot; safe to run again.",
        "set -eu",
        'SRC="$(cd "$(dirname "$0")" && pwd)"',
        "",
        "# secrets off the FAT boot partition first (firstboot.sh did it already, normally)",
        secrets_off_the_card(),
    ]
    for i, step in enumerate(remote_steps(plan, offline=True), 1):
        parts += ["", f'echo "camtrap install [{i}] {step.title}"', "(", step.script, ")"]
    parts += [
        "",
        f"rm -rf {SECRETS_AWAY}",
        f"touch {DATA}/.installed",
        'echo "camtrap install: done"',
        "",
    ]
    return "\n".join(parts)


def bundle_steps(boot: Path, plan: Plan, pi_python: str) -> list[Step]:
    dest = boot / "camtrap"
    py = pi_python.replace(".", "")
    wheels = (
        sys.executable, "-m", "pip", "download", "-q", "--dest", str(dest / "wheels"),
        "--only-binary=:all:", "--implementation", "cp", "--python-version", pi_python,
        "--abi", f"cp{py}", "--platform", "manylinux_2_28_aarch64",
        "--platform", "manylinux2014_aarch64", "--platform", "linux_aarch64",
        *plan.requirements, "ai-edge-litert",
    )  # fmt: skip
    return [
        wheel_step(plan),
        Step("local", f"download wheels for the Pi (Python {pi_python}, aarch64)", argv=wheels),
    ]


def write_bundle(boot: Path, plan: Plan, runner: Runner, dry_run: bool, pi_python: str) -> None:
    for name in ("config.txt", "cmdline.txt"):
        if not (boot / name).is_file():
            raise UsageError(f"{boot}: no {name}: not the boot partition of a Raspberry Pi SD card")
    execute("-", bundle_steps(boot, plan, pi_python), runner, dry_run)
    if dry_run:
        print(f"would write {boot}/camtrap/ (install.sh, firstboot.sh, config, model, unit)")
        print(f"would edit {boot}/config.txt and {boot}/cmdline.txt (UART, first-boot hook)")
        return
    dest = boot / "camtrap"
    (dest / "models").mkdir(parents=True, exist_ok=True)
    _copy(plan.wheel, dest / plan.wheel.name)
    _copy(plan.config_path, dest / "config.toml")
    _copy(UNIT_FILE, dest / "camtrap.service")
    _copy(POLKIT_RULE, dest / POLKIT_RULE.name)
    _copy(FIRSTBOOT_FILE, dest / "firstboot.sh")
    for f in sorted(plan.model_dir.iterdir()):
        if f.is_file():
            _copy(f, dest / "models" / plan.model_name / f.name)
    for d in plan.golden:
        for f in sorted(d.iterdir()):
            if f.is_file():
                _copy(f, dest / "golden" / d.resolve().name / f.name)
    (dest / "install.sh").write_text(install_script(plan), encoding="utf-8")
    edit_boot_files(boot, plan.halt_pin)
    print(f"wrote {dest}: put the card in the Pi and power it; the first boot installs camtrap")
    print(
        f"note: {dest}/config.toml sits on the FAT boot partition (readable by anyone with the "
        f"card) until the first boot moves it to {SECRETS_AWAY} (0600) and deletes it there"
    )


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes())


HOOK = "systemd.run=/boot/firmware/camtrap/firstboot.sh"
HOOK_ARGS = f"{HOOK} systemd.run_success_action=reboot systemd.unit=kernel-command-line.target"


def edit_boot_files(boot: Path, halt_pin: int | None) -> None:
    """UART on and serial console off, and the first-boot hook; idempotent."""
    edit_serial_boot_files(boot, serial_config_lines(halt_pin))  # as the Pi's own step does
    cmdline = boot / "cmdline.txt"
    args = cmdline.read_text(encoding="utf-8").split()
    if HOOK not in args:
        chained = [a for a in args if a.startswith("systemd.run=")]
        if chained:  # Raspberry Pi Imager's firstrun.sh: run it after ours
            (boot / "camtrap" / "chain").write_text(chained[0].split("=", 1)[1] + "\n")
        args = [a for a in args if not a.startswith(("systemd.run", "systemd.unit="))]
        args += HOOK_ARGS.split()
    cmdline.write_text(" ".join(args) + "\n", encoding="utf-8")


# -- command line -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.deploy", description=(__doc__ or "").split("\n")[0]
    )
    p.add_argument("host", nargs="?", help="ssh destination, e.g. pi@trap-07.local")
    p.add_argument("--config", required=True, type=Path, help="the trap's config.toml")
    p.add_argument("--model", required=True, type=Path, help="model directory (model.tflite...)")
    p.add_argument("--dry-run", action="store_true", help="print every step, run none")
    p.add_argument("--sd-card", type=Path, metavar="BOOT", help="write a first-boot bundle there")
    p.add_argument("--pi-python", default="3.11", help="Python of the Pi's OS (--sd-card)")
    p.add_argument("--wheel-dir", type=Path, default=WHEEL_DIR, help="where the wheel is built")
    p.add_argument(
        "--golden",
        type=Path,
        action="append",
        metavar="DIR",
        help="burst the doctor's self-test replays (default: demo leopard + empty)",
    )
    p.add_argument(
        "--no-fast-boot",
        action="store_true",
        help="power-gated: leave the Pi's boot as it is (no tools/fastboot.py optimisations)",
    )
    return p


def main(argv: Sequence[str] | None = None, runner: Runner = default_runner) -> int:
    args = build_parser().parse_args(argv)
    try:
        if (args.host is None) == (args.sd_card is None):
            raise UsageError("give either HOST (deploy over SSH) or --sd-card BOOT, not both")
        plan = validate(args.config, args.model, args.wheel_dir, args.golden)
        if args.no_fast_boot:
            plan = replace(plan, fast_boot=False)
        if args.sd_card is not None:
            write_bundle(args.sd_card, plan, runner, args.dry_run, args.pi_python)
            return 0
        mode = " (dry run: nothing is executed)" if args.dry_run else ""
        print(
            f"camtrap deploy to {args.host}: {plan.config.device.id}, model {plan.model_name}{mode}"
        )
        stage = new_stage()
        steps = ssh_steps(args.host, plan, stage)
        execute(args.host, steps, runner, args.dry_run, stage, on_failure=cleanup_step(stage))
        if not args.dry_run:
            print(
                f"deployed; check it with: ssh {args.host} "
                f"sudo -u camtrap {VENV}/bin/camtrap doctor --config {ETC}/config.toml"
            )
        return 0
    except UsageError as e:
        print(f"deploy: error: {e}", file=sys.stderr)
        return 2
    except CamtrapError as e:
        print(f"deploy: failed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
