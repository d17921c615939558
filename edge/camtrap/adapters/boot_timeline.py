"""The service's own boot timeline: when, in this boot, it started, armed, saw its first
trigger and took its first frame (kernel monotonic seconds, as systemd counts them).

``camtrap doctor`` adds it to systemd's figures to report the real time from power to the
first frame (``core/boottime.py``). The file is ``<data_dir>/boot-timeline.json``, tagged with
the kernel's boot id; it is written after arming and after the first burst, never between the
trigger and the first frame, and a failed write is logged, never raised: the timeline is
diagnostics, the burst is the job.

    timeline = BootTimeline.open(Path(cfg.device.data_dir), clock)
    timeline.mark("armed"); timeline.flush()
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path

from camtrap.core.boottime import ServiceTimeline
from camtrap.core.ports import Clock

log = logging.getLogger(__name__)
FILE = "boot-timeline.json"
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
MILESTONES = ("armed", "trigger", "first_frame")


def read_boot_id(path: Path = BOOT_ID) -> str | None:
    """This boot's id (Linux), or None where the kernel does not say."""
    try:
        return path.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


class BootTimeline:
    """Milestones of this boot, each recorded once (the first time), written on ``flush``."""

    def __init__(self, path: Path, boot_id: str, clock: Clock) -> None:
        self.path, self.clock = path, clock
        self.value = ServiceTimeline(boot_id=boot_id, started_s=clock.monotonic())

    @classmethod
    def open(cls, data_dir: Path, clock: Clock, boot_id_path: Path = BOOT_ID) -> BootTimeline:
        boot_id = read_boot_id(boot_id_path) or "unknown"
        return cls(data_dir / FILE, boot_id, clock)

    def mark(self, milestone: str) -> None:
        if milestone not in MILESTONES:
            raise ValueError(f"unknown milestone {milestone!r}")
        key = f"{milestone}_s"
        if getattr(self.value, key) is None:
            self.value = replace(self.value, **{key: self.clock.monotonic()})

    def flush(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.value.to_json()), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as e:
            log.warning("%s: cannot write the boot timeline: %s", self.path, e)


def load(path: Path) -> ServiceTimeline | None:
    """The stored timeline; None if there is none; ValueError naming the file if it is bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ValueError(f"{path}: cannot read: {e}") from None
    try:
        return ServiceTimeline.from_json(json.loads(text))
    except (ValueError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: {e}") from None
