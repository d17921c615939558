"""What every doctor check shares: the `Check` line, the `Deps` a test injects, the `Context`."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "FAIL", "warn", "skip"]
CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC)  # no trap runs before this was written
MIN_FREE_MB = 200.0
NO_GPIO = "no Pi GPIO here: run doctor on the Pi, or add --sim on a desktop"
REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name:<10} {self.detail}"
        shown = self.fix and self.status in ("FAIL", "warn")
        return text + (f"; do: {self.fix}" if shown else "")


@dataclass
class Deps:
    """What the checks talk to; tests inject fakes, the CLI uses the real things."""

    pin_factory: Any = None
    picamera2_factory: Any = None
    now: Callable[[], float] = time.time
    disk_usage: Callable[[str], Any] = shutil.disk_usage
    mqtt_timeout_s: float = 5.0
    command: Callable[[Sequence[str]], str | None] = field(default=lambda argv: _command(argv))
    boot_id: Callable[[], str | None] = field(default=lambda: _boot_id())


@dataclass
class Context:
    cfg: Any
    source: str
    sim: bool
    golden: list[Path]
    deps: Deps
    detector: Any = None
    results: list[Check] = field(default_factory=list)


def _command(argv: Sequence[str]) -> str | None:
    from camtrap.adapters.systemd import command_output

    return command_output(argv)


def _boot_id() -> str | None:
    from camtrap.adapters.boot_timeline import read_boot_id

    return read_boot_id()
