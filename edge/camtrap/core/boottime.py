"""Boot timing: from power to the first frame, out of systemd's figures and the service's own.

The power-gated trap boots the Pi for every trigger, so the boot is the latency that decides
whether a walking leopard is still in frame (``core/capture.py``). ``camtrap doctor`` checks it
on a real unit from three sources, all on the kernel's monotonic clock (zero at kernel start):

* ``systemd-analyze time``: firmware and loader (EFI machines only; a Pi's GPU firmware stage
  is invisible to Linux), kernel, and userspace up to the default target;
* ``systemctl show camtrap.service``: when systemd started the service and when it was active;
* the service's own timeline (``ServiceTimeline``, written by the service at each milestone of
  a boot: started, armed, first trigger, first frame), tagged with the kernel's boot id so a
  record from an earlier boot is never taken for this one.

Pure: text and values in, values out.

    times = parse_analyze_time("Startup finished in 3.015s (kernel) + 9.621s (userspace) = 12.637s")
    report = boot_report(times, parse_show(show_text), timeline, boot_id)
    format_report(report)
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_SPAN = re.compile(r"(\d+(?:\.\d+)?)(us|ms|min|s|h|d)\b")
_PART = re.compile(r"((?:\d+(?:\.\d+)?(?:us|ms|min|s|h|d)\s*)+)\((\w+)\)")


@dataclass(frozen=True)
class SystemdTimes:
    """``systemd-analyze time``: seconds per stage; None where systemd does not know it."""

    firmware_s: float | None
    loader_s: float | None
    kernel_s: float
    userspace_s: float | None  # None while the boot has not finished


@dataclass(frozen=True)
class ServiceTimeline:
    """The service's milestones in a boot, kernel monotonic seconds (None: not reached yet)."""

    boot_id: str
    started_s: float
    armed_s: float | None = None
    trigger_s: float | None = None
    first_frame_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(raw: Any) -> ServiceTimeline:
        """Parse a stored record; ValueError naming the field if it is not one."""
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        if not isinstance(raw.get("boot_id"), str) or not raw["boot_id"]:
            raise ValueError("boot_id: missing or not a string")
        values: dict[str, Any] = {"boot_id": raw["boot_id"]}
        for key in ("started_s", "armed_s", "trigger_s", "first_frame_s"):
            v = raw.get(key)
            if v is None and key != "started_s":
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 1e9:
                raise ValueError(f"{key}: want seconds since kernel start, got {v!r}")
            values[key] = float(v)
        unknown = set(raw) - {"boot_id", "started_s", "armed_s", "trigger_s", "first_frame_s"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}")
        return ServiceTimeline(**values)


@dataclass(frozen=True)
class BootReport:
    firmware_s: float | None  # power to kernel where systemd can see it (EFI), else None
    kernel_s: float  # kernel start to userspace
    unit_start_s: float | None  # kernel start to systemd starting camtrap.service
    armed_s: float | None  # kernel start to the service armed (READY)
    trigger_to_frame_s: float | None  # the first trigger to the first frame
    first_frame_s: float | None  # kernel start to the first frame

    @property
    def power_to_first_frame_s(self) -> float | None:
        """Power to the first frame as far as Linux can see it (plus firmware where known)."""
        if self.first_frame_s is None:
            return None
        return self.first_frame_s + (self.firmware_s or 0.0)


def parse_span(text: str) -> float:
    """A systemd time span (``1min 2.345s``, ``345ms``, ``12.637s``) in seconds."""
    parts = _SPAN.findall(text)
    if not parts or _SPAN.sub("", text).strip():
        raise ValueError(f"not a systemd time span: {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def parse_analyze_time(text: str) -> SystemdTimes:
    """Parse ``systemd-analyze time``; ValueError if the text is not its output."""
    line = next((ln for ln in text.splitlines() if "Startup finished in" in ln), None)
    if line is None:
        if "not yet finished" in text:
            raise ValueError("systemd says the boot has not finished yet")
        raise ValueError(f"no 'Startup finished in' line in {text[:80]!r}")
    stages = {name: parse_span(span) for span, name in _PART.findall(line)}
    if "kernel" not in stages:
        raise ValueError(f"no kernel stage in {line!r}")
    return SystemdTimes(
        firmware_s=stages.get("firmware"),
        loader_s=stages.get("loader"),
        kernel_s=stages["kernel"],
        userspace_s=stages.get("userspace"),
    )


def parse_show(text: str) -> dict[str, str]:
    """``systemctl show`` output (``Key=value`` lines) as a dict."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def _monotonic_s(show: dict[str, str], key: str) -> float | None:
    """A ``*TimestampMonotonic`` value (microseconds; 0 = never) in seconds."""
    raw = show.get(key, "")
    if not raw.isdigit() or int(raw) == 0:
        return None
    return int(raw) / 1e6


def boot_report(
    times: SystemdTimes,
    show: dict[str, str],
    timeline: ServiceTimeline | None,
    boot_id: str,
) -> BootReport:
    """Combine the three sources; a timeline from another boot is ignored."""
    if timeline is not None and timeline.boot_id != boot_id:
        timeline = None
    firmware = None
    if times.firmware_s is not None or times.loader_s is not None:
        firmware = (times.firmware_s or 0.0) + (times.loader_s or 0.0)
    t = timeline
    trigger_to_frame = None
    if t is not None and t.trigger_s is not None and t.first_frame_s is not None:
        trigger_to_frame = t.first_frame_s - t.trigger_s
    return BootReport(
        firmware_s=firmware,
        kernel_s=times.kernel_s,
        unit_start_s=_monotonic_s(show, "ExecMainStartTimestampMonotonic"),
        armed_s=(t.armed_s if t else None) or _monotonic_s(show, "ActiveEnterTimestampMonotonic"),
        trigger_to_frame_s=trigger_to_frame,
        first_frame_s=t.first_frame_s if t else None,
    )


def format_report(r: BootReport) -> str:
    """One line for the doctor: each stage from kernel start, then the total."""

    def s(v: float | None) -> str:
        return "?" if v is None else f"{v:.1f} s"

    head = f"firmware {s(r.firmware_s)}, " if r.firmware_s is not None else ""
    line = (
        f"{head}kernel {s(r.kernel_s)}, camtrap started at {s(r.unit_start_s)}, "
        f"armed at {s(r.armed_s)}"
    )
    if r.first_frame_s is None:
        return line + "; no frame yet in this boot (trigger the PIR, then run the doctor again)"
    total = r.power_to_first_frame_s
    where = "power" if r.firmware_s is not None else "kernel start (+ the Pi's firmware stage)"
    return (
        f"{line}, trigger to frame {s(r.trigger_to_frame_s)}: first frame {s(total)} after {where}"
    )
