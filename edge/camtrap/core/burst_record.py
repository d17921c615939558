"""A replay record read back: the JSON Lines object of one burst as a frozen value. Pure.

`camtrap replay --json-out` writes one object per burst (`camtrap.core.records` builds it; the
shared contracts define it); `parse_record` reads it into a `BurstRecord` with its
`FrameRecord`s, checking each key evaluation and calibration use, and a `ValueError` names the
record and the bad key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FrameRecord:
    """One frame of a replay record."""

    index: int
    name: str
    target_score: float | None
    top_label: str
    top_score: float | None
    error: str | None = None


@dataclass(frozen=True)
class BurstRecord:
    """One replay record (one burst), as far as evaluation needs it."""

    source: str
    verdict: str  # "hit" | "miss" | "error"
    target_score: float | None
    top_label: str
    top_score: float | None
    frames_total: int
    frames_classified: int
    frames: tuple[FrameRecord, ...] = ()
    label: str | None = None
    error: str | None = None
    target: str = ""  # the target that scored (a group's name), "" in older records
    region_source: str | None = None  # where the best frame's winning region came from


def parse_record(raw: Mapping[str, Any], where: str = "record") -> BurstRecord:
    """A replay JSON Lines object as a `BurstRecord`; `ValueError` names the bad key."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a JSON object")
    frames = raw.get("frames", [])
    if not isinstance(frames, list):
        raise ValueError(f"{where}: frames: must be a list")
    return BurstRecord(
        source=_str(raw, "source", where),
        verdict=_verdict(raw, where),
        target_score=_opt_float(raw, "target_score", where),
        top_label=str(raw.get("top_label") or ""),
        top_score=_opt_float(raw, "top_score", where),
        frames_total=_int(raw, "frames_total", where),
        frames_classified=_int(raw, "frames_classified", where),
        frames=tuple(_parse_frame(f, f"{where}: frames[{i}]") for i, f in enumerate(frames)),
        label=_opt_str(raw, "label", where),
        error=_opt_str(raw, "error", where),
        target=str(raw.get("target") or ""),
        region_source=_opt_str(raw, "region_source", where),
    )


def hits_by_source(records: Sequence[BurstRecord]) -> dict[str, int]:
    """How many hits came from motion regions, tiles or the full frame (by the winning region
    of each hit's best frame; records from before regions count as the full frame)."""
    out = {"motion": 0, "tiles": 0, "full": 0}
    for r in records:
        if r.verdict == "hit":
            source = r.region_source or "full"
            out[source] = out.get(source, 0) + 1
    return out


def _parse_frame(raw: Any, where: str) -> FrameRecord:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a JSON object")
    return FrameRecord(
        index=_int(raw, "index", where),
        name=str(raw.get("name") or ""),
        target_score=_opt_float(raw, "target_score", where),
        top_label=str(raw.get("top_label") or ""),
        top_score=_opt_float(raw, "top_score", where),
        error=_opt_str(raw, "error", where),
    )


def _verdict(raw: Mapping[str, Any], where: str) -> str:
    v = raw.get("verdict")
    if v not in ("hit", "miss", "error"):
        raise ValueError(f"{where}: verdict: must be hit, miss or error, got {v!r}")
    return str(v)


def _str(raw: Mapping[str, Any], key: str, where: str) -> str:
    v = raw.get(key)
    if not isinstance(v, str):
        raise ValueError(f"{where}: {key}: must be a string, got {v!r}")
    return v


def _opt_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    v = raw.get(key)
    if v is not None and not isinstance(v, str):
        raise ValueError(f"{where}: {key}: must be a string or null, got {v!r}")
    return v


def _int(raw: Mapping[str, Any], key: str, where: str) -> int:
    v = raw.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"{where}: {key}: must be a non-negative integer, got {v!r}")
    return v


def _opt_float(raw: Mapping[str, Any], key: str, where: str) -> float | None:
    v = raw.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"{where}: {key}: must be a number or null, got {v!r}")
    return float(v)
