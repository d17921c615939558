"""The portable LoRa checks (tests/lora/portable/lora_checks.py) under CPython and MicroPython.

Under CPython each ``check_*`` is one test. Under MicroPython all of them run in the official
WebAssembly VM (``node tests/firmware/mpvm.mjs``), so the firmware's copies of the codec,
airtime tables, scheduler and modem drivers are tested where they run. Skipped without node
or the npm package, except under CI=true, where that fails.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORTABLE = Path(__file__).resolve().parent / "portable"
MPVM = ROOT / "tests" / "firmware" / "mpvm.mjs"
VM_PACKAGE = ROOT / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"


def _load_checks():
    spec = importlib.util.spec_from_file_location("lora_checks", PORTABLE / "lora_checks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKS = _load_checks()
NAMES = sorted(n for n in dir(CHECKS) if n.startswith("check_"))


@pytest.mark.parametrize("name", NAMES, ids=[n.removeprefix("check_") for n in NAMES])
def test_portable_check_on_cpython(name: str) -> None:
    getattr(CHECKS, name)()


def _need_vm() -> str:
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node")
    if not VM_PACKAGE.is_dir():
        missing.append("node_modules (make node-deps)")
    if not MPVM.is_file():
        missing.append(str(MPVM.relative_to(ROOT)))
    if missing:
        reason = "MicroPython VM unavailable: " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI must have it)")
        pytest.skip(reason)
    assert node is not None
    return node


@pytest.mark.node
def test_portable_checks_pass_in_the_micropython_vm() -> None:
    node = _need_vm()
    proc = subprocess.run(
        [node, str(MPVM), str(ROOT / "firmware"), str(PORTABLE)],
        input="import lora_checks\nlora_checks.run_all()\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert f"passed {len(NAMES)}" in proc.stdout, proc.stdout[-2000:]
