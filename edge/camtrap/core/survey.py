"""Stored burst records as typed survey values, the common input of every export. Pure.

A stored burst's ``burst.json`` (`camtrap.core.burst_sidecar`) or a ``camtrap replay
--json-out`` record becomes one `SurveyBurst`; anything an export cannot use comes back as a
`Skip` with a short reason, so the exporter counts reasons instead of failing on the first bad
sidecar. Times the trap did not trust (``time_source`` ``none``) stay unknown (``time`` None)
unless `correct_times` finds a later clock sync in the same boot: then the burst's monotonic
reading plus that sync's offset dates it.

    >>> rec = {"event_id": "trap-07-1", "trigger_time": "2026-11-24T06:00:00Z",
    ...        "verdict": {"verdict": "miss", "frames": [{"index": 0, "top_label": "empty"}]}}
    >>> b = burst_from_record(rec, "bursts/20261124/trap-07-1", ["000.jpg"])
    >>> b.time, b.frames[0].file
    (1795500000.0, 'bursts/20261124/trap-07-1/000.jpg')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from camtrap.core.deployment import Deployment, from_record

BLANK_LABELS = ("empty", "blank", "background", "none", "nothing")


@dataclass(frozen=True)
class Skip:
    """A record an export leaves out, and why (the reasons are counted and printed)."""

    where: str
    reason: str


@dataclass(frozen=True)
class SurveyFrame:
    index: int
    file: str  # path of the image, relative to the export's root
    t: float  # seconds after the trigger
    target_score: float
    top_label: str
    top_score: float
    error: str | None = None
    box: tuple[float, float, float, float] | None = None  # normalised x, y, w, h (top-left)
    region_source: str = ""


@dataclass(frozen=True)
class SurveyBurst:
    key: str  # where it came from (the burst directory, relative to the root)
    event_id: str
    device_id: str
    time: float | None  # trigger time, unix s UTC; None when the trap's clock was unknown
    time_source: str
    time_uncertainty_s: float | None
    verdict: str  # hit / miss / error
    target_score: float
    target_label: str  # the model label that scored for the target
    top_label: str
    top_score: float
    model: str
    frames: tuple[SurveyFrame, ...]
    deployment: Deployment | None = None
    boot_id: str = ""
    monotonic_s: float | None = None
    time_corrected: bool = False
    target_name: str = ""  # the target (or label group, e.g. the Amur preset's "leopard")

    @property
    def end_time(self) -> float | None:
        if self.time is None:
            return None
        return self.time + max((f.t for f in self.frames), default=0.0)


@dataclass(frozen=True)
class ClockSync:
    """The trap learned the real time during a boot: wall = monotonic + offset from then on."""

    boot_id: str
    monotonic_s: float
    time: float
    source: str
    uncertainty_s: float | None = None


class _Bad(ValueError):
    pass


def burst_from_record(
    record: Any, key: str, files: Sequence[str], model: str = ""
) -> SurveyBurst | Skip:
    """One stored record, its directory (relative to the root) and the frame files there."""
    try:
        return _burst(record, key, files, model)
    except _Bad as e:
        return Skip(key, str(e))


def _burst(record: Any, key: str, files: Sequence[str], model: str) -> SurveyBurst:
    if not isinstance(record, Mapping):
        raise _Bad("record is not a JSON object")
    verdict = record.get("verdict")
    v = verdict if isinstance(verdict, Mapping) else record  # stored: nested; replay: flat
    event_id = _str(record, "event_id", required=True)
    source = _str(record, "time_source") or "recorded"  # stored before time sources
    frames = _frames(v.get("frames"), key, files, record.get("frame_interval_s"))
    if not frames:
        raise _Bad("no frames")
    untrusted = source == "none"
    return SurveyBurst(
        key=key,
        event_id=event_id,
        device_id=_str(record, "device_id"),
        time=None if untrusted else _time(record.get("trigger_time")),
        time_source=source,
        time_uncertainty_s=_opt_number(record.get("time_uncertainty_s")),
        verdict=_decision(v),
        target_score=_number(v.get("target_score", 0.0), "target_score"),
        target_label=_str(v, "target_label"),
        top_label=_str(v, "top_label"),
        top_score=_number(v.get("top_score", 0.0), "top_score"),
        model=_str(record, "model") or model,
        frames=frames,
        deployment=_deployment(record.get("deployment")),
        boot_id=_str(record, "boot_id"),
        monotonic_s=_opt_number(record.get("monotonic_s")),
        target_name=_str(v, "target"),
    )


def _decision(v: Mapping[str, Any]) -> str:
    d = v.get("verdict")
    if d not in ("hit", "miss", "error"):
        raise _Bad(f"verdict: must be hit, miss or error, got {d!r}")
    return str(d)


def _frames(raw: Any, key: str, files: Sequence[str], interval: Any) -> tuple[SurveyFrame, ...]:
    """The frames the record scored that exist on disk (by name, else by index order)."""
    if not isinstance(raw, list):
        raise _Bad("verdict.frames: must be a list")
    step = interval if isinstance(interval, int | float) and math.isfinite(interval) else 0.0
    present = list(files)
    out = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise _Bad("verdict.frames: each must be an object")
        index = item.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise _Bad(f"verdict.frames: bad index {index!r}")
        name = _frame_file(item, index, present)
        if name is None:
            continue  # scored, but its file is gone (or was never written): not a medium
        out.append(_frame(item, index, _join(key, name), step))
    return tuple(out)


def _frame_file(item: Mapping[str, Any], index: int, present: Sequence[str]) -> str | None:
    name = item.get("name")
    if isinstance(name, str) and name:
        return name if name in present or not present else None
    stem = f"{index:03d}."
    return next((p for p in present if p.startswith(stem)), None)


def _frame(item: Mapping[str, Any], index: int, file: str, step: float) -> SurveyFrame:
    t = item.get("t")
    return SurveyFrame(
        index=index,
        file=file,
        t=float(t) if isinstance(t, int | float) and math.isfinite(t) else index * step,
        target_score=_number(item.get("target_score", 0.0), "frames.target_score"),
        top_label=_str(item, "top_label"),
        top_score=_number(item.get("top_score", 0.0), "frames.top_score"),
        error=item.get("error") if isinstance(item.get("error"), str) else None,
        box=parse_box(item.get("box")),
        region_source=_str(item, "region_source"),
    )


def parse_box(raw: Any) -> tuple[float, float, float, float] | None:
    """A normalised ``[x, y, w, h]`` inside the frame, or None for anything else."""
    if not isinstance(raw, list | tuple) or len(raw) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
        return None
    x, y, w, h = (float(v) for v in raw)
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        return None
    eps = 1e-9
    if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > 1 + eps or y + h > 1 + eps:
        return None
    return x, y, min(w, 1 - x), min(h, 1 - y)


def _deployment(raw: Any) -> Deployment | None:
    if raw is None:
        return None
    try:
        d = from_record(raw)
    except ValueError as e:
        raise _Bad(str(e)) from None
    return d if d.configured else None


def _join(key: str, name: str) -> str:
    return f"{key}/{name}" if key else name


def _str(m: Mapping[str, Any], k: str, required: bool = False) -> str:
    value = m.get(k)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise _Bad(f"{k}: must be a non-empty string" if required else f"{k}: must be a string")
    return value


def _number(value: Any, k: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Bad(f"{k}: must be a number, got {value!r}")
    return float(value)


def _opt_number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def _time(raw: Any) -> float | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _Bad("trigger_time: must be an ISO 8601 string")
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(f"trigger_time: not ISO 8601: {raw!r}") from None
    if t.tzinfo is None:
        raise _Bad(f"trigger_time: no UTC offset: {raw!r}")
    return t.timestamp()


def correct_times(bursts: Sequence[SurveyBurst], syncs: Sequence[ClockSync]) -> list[SurveyBurst]:
    """Date the bursts of an unknown clock from a sync in the same boot (the first after them,
    else the last before them: the monotonic clock of one boot runs straight through)."""
    out = []
    for b in bursts:
        sync = _sync_for(b, syncs)
        if b.time is not None or sync is None or b.monotonic_s is None:
            out.append(b)
            continue
        t = sync.time + (b.monotonic_s - sync.monotonic_s)
        out.append(
            replace(
                b,
                time=t,
                time_source=sync.source,
                time_uncertainty_s=sync.uncertainty_s,
                time_corrected=True,
            )
        )
    return out


def _sync_for(b: SurveyBurst, syncs: Sequence[ClockSync]) -> ClockSync | None:
    same = [s for s in syncs if b.boot_id and s.boot_id == b.boot_id]
    if not same or b.monotonic_s is None:
        return None
    mono = b.monotonic_s
    after = [s for s in same if s.monotonic_s >= mono]
    if after:
        return min(after, key=lambda s: s.monotonic_s)
    return max(same, key=lambda s: s.monotonic_s)


def is_blank(label: str) -> bool:
    return label.strip().lower() in BLANK_LABELS
