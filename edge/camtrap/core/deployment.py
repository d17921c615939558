"""Deployment metadata: where and how a trap was set up, as a survey records it. Pure.

One value per deployment (a trap at one place for one period), from the config's
``[deployment]`` section. It goes into every stored burst record and every hit, so a burst
copied off the card still says where it was taken, and the Camtrap DP export builds its
``deployments.csv`` row from it. The field names follow Camtrap DP 1.0 where it has one
(https://camtrap-dp.tdwg.org/data/#deployments); the ranges are its constraints.

    >>> start = "2026-11-01T09:00:00+10:00"
    >>> d = Deployment(id="amur-2026-A07", latitude=43.1, longitude=131.5, start=start)
    >>> d.configured, d.has_coordinates, d.start_time
    (True, True, 1793487600.0)
    >>> deployment_record(d)["deployment_id"]
    'amur-2026-A07'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def _meta(lo: float | None = None, hi: float | None = None, doc: str = "") -> dict[str, Any]:
    """The config loader's field metadata (``min``/``max``/``doc``), so the section is this."""
    return {"min": lo, "max": hi, "doc": doc}


@dataclass(frozen=True)
class Deployment:
    """``[deployment]``; an empty ``id`` means none is configured (records then carry none)."""

    id: str = field(default="", metadata=_meta(doc="deployment id, e.g. amur-2026-A07"))
    location_name: str = field(default="", metadata=_meta(doc="e.g. Kedrovaya Pad ridge trail"))
    location_id: str = field(default="", metadata=_meta(doc="the survey's station id"))
    latitude: float | None = field(default=None, metadata=_meta(-90, 90, "WGS84 decimal degrees"))
    longitude: float | None = field(
        default=None, metadata=_meta(-180, 180, "WGS84 decimal degrees")
    )
    coordinate_uncertainty_m: int | None = field(
        default=None, metadata=_meta(1, 20_000_000, "metres (GPS fix: ~5-30)")
    )
    camera_height_m: float | None = field(default=None, metadata=_meta(0, 100, "lens above ground"))
    camera_tilt_deg: int | None = field(
        default=None, metadata=_meta(-90, 90, "0 horizontal, negative pointing down")
    )
    camera_heading_deg: int | None = field(
        default=None, metadata=_meta(0, 360, "compass bearing the camera faces, 0 = north")
    )
    bait: bool = field(default=False, metadata=_meta(doc="bait or lure used"))
    setup_by: str = field(default="", metadata=_meta(doc="who set the trap up"))
    start: str = field(
        default="",
        metadata=_meta(doc='ISO 8601 with offset, e.g. "2026-11-01T09:00:00+10:00"'),
    )
    end: str = field(default="", metadata=_meta(doc="ISO 8601; empty = still running"))
    utc_offset: str = field(
        default="+00:00", metadata=_meta(doc="local offset for EXIF and exports, e.g. +10:00")
    )

    def __post_init__(self) -> None:
        problem = validate(self)
        if problem:
            key, why = problem
            raise ValueError(f"{key}: {why}")

    @property
    def configured(self) -> bool:
        return bool(self.id)

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    @property
    def start_time(self) -> float | None:
        return parse_time(self.start) if self.start else None

    @property
    def end_time(self) -> float | None:
        return parse_time(self.end) if self.end else None

    @property
    def tz(self) -> timezone:
        return offset_tz(self.utc_offset)


def validate(d: Deployment) -> tuple[str, str] | None:
    """The first (key, what is wrong), or None. Ranges are checked by the config loader too;
    these are the checks a range cannot express."""
    for f in fields(d):
        value = getattr(d, f.name)
        wrong = _wrong_type(str(f.type), value)
        if wrong:
            return f.name, wrong
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        if isinstance(value, float | int) and not isinstance(value, bool):
            if not math.isfinite(value):
                return f.name, f"must be a finite number, got {value}"
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                return f.name, f"must be in {lo:g}..{hi:g}, got {value}"
    if (d.latitude is None) != (d.longitude is None):
        return ("latitude" if d.latitude is None else "longitude"), "give both or neither"
    if not _OFFSET.match(d.utc_offset) or abs(_offset_minutes(d.utc_offset)) > 14 * 60:
        return "utc_offset", f'must be like "+10:00" (-14:00..+14:00), got {d.utc_offset!r}'
    for key in ("start", "end"):
        text = getattr(d, key)
        if text and parse_time(text) is None:
            return (
                key,
                f'must be ISO 8601 with an offset, e.g. "2026-11-01T09:00:00Z", got {text!r}',
            )
    if d.start and d.end and (parse_time(d.end) or 0) < (parse_time(d.start) or 0):
        return "end", "is before start"
    if (d.latitude is not None or d.start) and not d.id:
        return "id", "missing (a deployment with coordinates or a start needs an id)"
    return None


def _wrong_type(annotation: str, value: Any) -> str | None:
    if value is None and "None" in annotation:
        return None
    if annotation.startswith("bool"):
        ok = isinstance(value, bool)
    elif annotation.startswith("str"):
        ok = isinstance(value, str)
    elif annotation.startswith("int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:  # float
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    return None if ok else f"must be {annotation.split(' ')[0]}, got {value!r}"


def parse_time(text: str) -> float | None:
    """ISO 8601 with an explicit offset (``Z`` or ``+hh:mm``) -> unix seconds; else None."""
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return t.timestamp() if t.tzinfo is not None else None


def offset_tz(text: str) -> timezone:
    return timezone(timedelta(minutes=_offset_minutes(text)))


def _offset_minutes(text: str) -> int:
    m = _OFFSET.match(text)
    if m is None:
        return 0
    sign = -1 if m.group(1) == "-" else 1
    return sign * (int(m.group(2)) * 60 + int(m.group(3)))


def deployment_record(d: Deployment) -> dict[str, Any]:
    """The ``deployment`` object of a stored burst record (only the fields that are set)."""
    out: dict[str, Any] = {"deployment_id": d.id}
    for f in fields(d):
        value = getattr(d, f.name)
        if f.name != "id" and value not in (None, ""):
            out[f.name] = value
    return out


def from_record(raw: Any) -> Deployment:
    """A stored record's ``deployment`` object back to the value; ValueError names the key."""
    if not isinstance(raw, dict):
        raise ValueError("deployment: must be an object")
    known = {f.name for f in fields(Deployment)}
    values = {"id" if k == "deployment_id" else k: v for k, v in raw.items()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"deployment: unknown key {unknown[0]}")
    try:
        return Deployment(**values)
    except TypeError as e:
        raise ValueError(f"deployment: {e}") from None
