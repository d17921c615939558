"""The doctor's checks: a trap end to end, one `Check` line per step, each saying what to do.

`camtrap doctor` runs them (`run_checks`); each check talks to the world only through the
adapters' own probes (`probe_broker`, `read_pir_level`, `snapshot`, `probe_serial`, systemd's
tools, the secrets and storage checks) or the `Deps` a test injects. The checks, in order, and
what ``--sim`` changes: see `camtrap.commands.doctor`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from camtrap.doctor.base import REPO, Check, Context, Deps
from camtrap.doctor.device import (
    _check_broker,
    _check_camera,
    _check_mcu_link,
    _check_model,
    _check_notify,
    _check_pir,
    _check_self_test,
)
from camtrap.doctor.host import (
    _check_boot_time,
    _check_clock,
    _check_disk,
    _check_secrets,
    _check_storage,
)

__all__ = ["CHECKS", "Check", "Context", "Deps", "run_checks"]


def run_checks(
    config: str | None, sim: bool, golden: Sequence[str], deps: Deps, out: Any = None
) -> list[Check]:
    """Run every check, printing each line as it completes; returns them all."""
    import sys

    out = out or sys.stdout
    first = _check_config(config)
    print(first.line(), file=out, flush=True)
    if first.status == "FAIL":
        return [first]
    from camtrap.config import load_config

    cfg = load_config(config)
    ctx = Context(cfg, config or "<defaults>", sim, _golden_dirs(golden, cfg), deps)
    ctx.results.append(first)
    for check in CHECKS:
        result = _guarded(check, ctx)
        ctx.results.append(result)
        print(result.line(), file=out, flush=True)
    return ctx.results


def _guarded(check: Callable[[Context], Check], ctx: Context) -> Check:
    """A check that raises becomes a FAIL line naming the error, never a traceback."""
    name = check.__name__.removeprefix("_check_").replace("_", "-")
    try:
        return check(ctx)
    except Exception as e:
        return Check(name, "FAIL", f"{type(e).__name__}: {e}", "see the message; run with -v")


def _check_config(config: str | None) -> Check:
    from camtrap.config import load_config
    from camtrap.errors import UsageError

    try:
        cfg = load_config(config)
    except UsageError as e:
        return Check("config", "FAIL", str(e), "fix that key (camtrap validate-config FILE)")
    where = config or "built-in defaults"
    return Check("config", "ok", f"{where}: device {cfg.device.id}, {cfg.device.mode}")


CHECKS: tuple[Callable[[Context], Check], ...] = (
    _check_secrets,
    _check_clock,
    _check_disk,
    _check_storage,
    _check_model,
    _check_self_test,
    _check_camera,
    _check_pir,
    _check_broker,
    _check_notify,
    _check_mcu_link,
    _check_boot_time,
)


def _golden_dirs(given: Sequence[str], cfg: Any) -> list[Path]:
    if given:
        return [Path(g) for g in given]
    installed = Path(cfg.device.data_dir) / "golden"
    if installed.is_dir():
        return [installed]
    from camtrap.sim.bursts import DEMO_GOLDEN

    demo = [REPO / d for d in DEMO_GOLDEN]
    return [d for d in demo if (d / "burst.json").is_file()]
