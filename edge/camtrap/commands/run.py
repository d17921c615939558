"""`camtrap run`: the trap service, on a Pi or simulated on a desktop.

    camtrap run --config /etc/camtrap/config.toml         # the field: PIR/MCU + picamera2
    camtrap run --sim demo/bursts --config examples/demo.toml

``--sim`` runs the very same loop with the real gpiozero PIR code on a ``MockFactory`` pin
driven by the PIR timing recorded in each ``burst.json``, and the replay camera serving the
recorded frames at the configured ``camera.interval_s``; it ends when the bursts are used up
(printing a summary) or on SIGTERM. Hits go to a real broker when ``[mqtt] enabled``, else they
are printed as they would be published.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("camtrap.run")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the trap service (or simulate it with --sim)")
    p.add_argument("--config", metavar="C", help="TOML config (defaults otherwise)")
    p.add_argument("--sim", nargs="+", metavar="BURSTS", help="simulate with recorded bursts")
    p.add_argument(
        "--speed", type=float, default=1.0, help="sim only: play PIR timing and frames faster"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from camtrap.adapters.datalock import DataDirLock
    from camtrap.app import run_field, run_sim
    from camtrap.config import load_config
    from camtrap.detector import build_detector
    from camtrap.errors import UsageError

    if args.speed <= 0:
        raise UsageError(f"--speed must be > 0, got {args.speed}")
    source = args.config or "<defaults>"
    cfg = load_config(args.config)
    ensure_data_dir(cfg.device.data_dir, source)
    # one service per data directory: a second one exits 2 naming the holder
    with DataDirLock(cfg.device.data_dir):
        detector = build_detector(cfg.model, cfg.verdict, cfg.regions)
        stop = threading.Event()
        _on_signals(stop)
        if args.sim:
            return run_sim(cfg, source, detector, args.sim, args.speed, stop)
        return run_field(cfg, source, detector, stop)


def ensure_data_dir(data_dir: str, source: str) -> None:
    """``device.data_dir`` exists (created if need be) and is writable, or a `ConfigError`."""
    from camtrap.errors import ConfigError

    path = Path(data_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(source, "device.data_dir", f"cannot create {path}: {e}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        if _read_only(path):  # a card the kernel remounted: run degraded, never a dead trap
            log.error("%s: read-only filesystem: running degraded until it is writable", path)
            return
        raise ConfigError(source, "device.data_dir", f"{path}: not writable by this user")


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
