"""Run code in the real MicroPython VM (the WebAssembly port under node), for pytest and tools.

`run_micropython(code, dirs)` copies the ``.py`` files of each dir into the VM's ``/lib`` and
runs ``code``; `vm_available()` says why it cannot run (node or the npm package missing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("mpvm.mjs")
PACKAGE = ROOT / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"


def vm_available() -> str | None:
    """None when the VM can run, else the reason it cannot."""
    if shutil.which("node") is None:
        return "node is not installed (make node-deps)"
    if not (PACKAGE / "micropython.mjs").exists():
        return f"{PACKAGE.relative_to(ROOT)} is missing (make node-deps)"
    return None


def require_vm() -> None:
    """Skip the calling test without the VM, but fail on CI (CI=true), where it must run."""
    import pytest

    reason = vm_available()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"MicroPython VM required on CI: {reason}")
    pytest.skip(reason)


def run_micropython(
    code: str,
    dirs: list[Path],
    heap: int = 1 << 20,
    timeout: float = 120,
    fs_in: Path | None = None,
    fs_out: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``fs_in``: host files that become the VM's root files; ``fs_out``: where the VM's root
    files are written after the run (a board's flash carried from one run to the next)."""
    env = dict(os.environ, MPVM_HEAP=str(heap))
    if fs_in is not None:
        env["MPVM_FS_IN"] = str(fs_in)
    if fs_out is not None:
        env["MPVM_FS_OUT"] = str(fs_out)
    return subprocess.run(
        ["node", str(RUNNER), *map(str, dirs)],
        input=code,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
