"""The ``burst.json`` a stored burst carries, and its frames' file names. Pure.

The record is the recorded-burst schema (``camtrap replay`` reads it back) plus the event id,
a ``verdict`` record in the replay record's field names (each frame's file name and time
after the trigger, its winning region), the deployment, the model and where the time came
from. The burst store (`camtrap.adapters.store`) writes it; the exports read it back
(`camtrap.core.survey`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from camtrap.core.deployment import Deployment, deployment_record
from camtrap.core.messages import iso_utc
from camtrap.core.records import best_region, region_fields
from camtrap.core.timebase import BurstTime
from camtrap.core.types import BurstMeta, Verdict

BURST_SCHEMA = "camtrap-burst/1"
SIDECAR = "burst.json"


@dataclass(frozen=True)
class Extra:
    """What a burst record says beyond the meta and the verdict."""

    time: BurstTime | None = None
    target_label: str = ""
    model: str = ""
    target: str = ""

    @property
    def dated(self) -> bool:
        return self.time is None or self.time.status.trusted


def burst_record(
    event_id: str,
    meta: BurstMeta,
    verdict: Verdict,
    deployment: Deployment | None = None,
    extra: Extra | None = None,
    names: Mapping[int, str] | None = None,
    times: Mapping[int, float] | None = None,
) -> dict[str, Any]:
    """The ``burst.json`` of a stored burst: recorded-burst schema + event id + verdict, the
    deployment, the time's source, and each frame's file name and offset from the trigger."""
    extra = extra or Extra()
    record: dict[str, Any] = {
        "schema": BURST_SCHEMA,
        "device_id": meta.device_id,
        "trigger_time": iso_utc(meta.trigger_time),
        "frame_interval_s": meta.frame_interval_s,
        "pir_pulses": list(meta.pir_pulses),
    }
    if meta.label is not None:
        record["label"] = meta.label
    record["event_id"] = event_id
    if extra.time is not None:
        record |= extra.time.record()
    if deployment is not None and deployment.configured:
        record["deployment"] = deployment_record(deployment)
    if extra.model:
        record["model"] = extra.model
    record["verdict"] = verdict_record(verdict, extra.target_label, names or {}, times or {})
    if extra.target:
        record["verdict"]["target"] = extra.target
    return record


def verdict_record(
    v: Verdict,
    target_label: str = "",
    names: Mapping[int, str] | None = None,
    times: Mapping[int, float] | None = None,
) -> dict[str, Any]:
    """The verdict in the replay record's field names (plus, stored, each frame's file name
    and time after the trigger, and the target label the score is for)."""
    out = {
        "verdict": v.decision,
        "target_score": v.target_score,
        "top_label": v.top_label,
        "top_score": v.top_score,
        "frames_total": v.frames_total,
        "frames_classified": v.frames_classified,
        "frames_agreeing": v.frames_agreeing,
        "rule": v.rule,
        "error": v.error,
        "frames": [_frame_record(f, names or {}, times or {}) for f in v.frames],
        **best_region(v),
    }
    if target_label:
        out["target_label"] = target_label
    return out


def _frame_record(f: Any, names: Mapping[int, str], times: Mapping[int, float]) -> dict[str, Any]:
    out: dict[str, Any] = {"index": f.index}
    if f.index in names:
        out["name"] = names[f.index]
    if f.index in times:
        out["t"] = round(times[f.index], 3)
    out |= {
        "target_score": f.target_score,
        "top_label": f.top_label,
        "top_score": f.top_score,
        "error": f.error,
    }
    out |= region_fields(f.where)  # the frame's winning region (regions stage)
    return out


_MAGIC = ((b"\xff\xd8", ".jpg"), (b"\x89PNG", ".png"), (b"BM", ".bmp"))


def frame_name(data: bytes, index: int) -> str:
    """``003.jpg``: index order is file-name order; the extension follows the bytes."""
    ext = ".jpg"
    for magic, suffix in _MAGIC:
        if data.startswith(magic):
            ext = suffix
    return f"{index:03d}{ext}"
