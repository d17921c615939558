"""Replay JSON Lines records: one dict per burst, from its verdict. Pure.

The field names are a shared contract (`camtrap replay --json-out`, the evaluation tools):
``source, event_id, verdict, target_score, top_label, top_score, frames_total,
frames_classified, frames_agreeing, rule, frames, error``, the winning region (``box``,
``region_source``, ``region_frame``) and ``label`` when the burst has a ground truth; each frame
carries its own winning region (`region_fields`). Scores are rounded to 6 decimals so records
are stable across machines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from camtrap.core.targets import matches
from camtrap.core.types import BurstMeta, FrameScore, Verdict, Where

DIGITS = 6
BOX_DIGITS = 4  # a box to 1/10,000 of the frame: finer than any pixel of a 2028 px frame


def replay_record(
    meta: BurstMeta,
    event_id: str,
    verdict: Verdict,
    names: Sequence[str] = (),
    target: tuple[str, str] = ("", ""),
) -> dict[str, Any]:
    """The record of one burst; ``names`` are its frames' file names, in order; ``target`` is
    (target name, model label) that scored."""
    record: dict[str, Any] = {
        "source": meta.source,
        "event_id": event_id,
        "verdict": verdict.decision,
        "target_score": round(verdict.target_score, DIGITS),
        "top_label": verdict.top_label,
        "top_score": round(verdict.top_score, DIGITS),
        "frames_total": verdict.frames_total,
        "frames_classified": verdict.frames_classified,
        "frames_agreeing": verdict.frames_agreeing,
        "rule": verdict.rule,
        "frames": [_frame(f, names) for f in verdict.frames],
        "error": verdict.error,
        **best_region(verdict),
    }
    if target[0]:
        record["target"], record["target_label"] = target
    if meta.label is not None:
        record["label"] = meta.label
    return record


def _frame(f: FrameScore, names: Sequence[str]) -> dict[str, Any]:
    return {
        "index": f.index,
        "name": names[f.index] if f.index < len(names) else "",
        "target_score": round(f.target_score, DIGITS),
        "top_label": f.top_label,
        "top_score": round(f.top_score, DIGITS),
        "error": f.error,
        **region_fields(f.where),
    }


def region_fields(where: Where) -> dict[str, Any]:
    """A frame's winning region in records: ``box`` (normalised [x, y, w, h], top-left
    origin, the MegaDetector convention), ``region_source`` (motion, tiles or full),
    ``regions`` (classified in the frame) and ``region_reason`` (why motion was not used)."""
    return {
        "box": [round(v, BOX_DIGITS) for v in where.box],
        "region_source": where.source,
        "regions": where.regions,
        "region_reason": where.reason,
    }


def best_region(verdict: Verdict) -> dict[str, Any]:
    """The burst's winning region: ``box``, ``region_source`` and ``region_frame`` (its index)
    of the frame with the highest target score (the full frame when none was classified)."""
    scored = [f for f in verdict.frames if f.error is None]
    if not scored:
        return {"box": [0.0, 0.0, 1.0, 1.0], "region_source": "full", "region_frame": None}
    best = max(scored, key=lambda f: f.target_score)
    return {
        "box": [round(v, BOX_DIGITS) for v in best.where.box],
        "region_source": best.where.source,
        "region_frame": best.index,
    }


@dataclass(frozen=True)
class Summary:
    """Counts over replay records, with precision and recall when labels are known."""

    bursts: int
    hits: int
    misses: int
    errors: int
    labelled: int  # bursts with a ground-truth label and a hit/miss verdict
    true_pos: int
    false_pos: int
    false_neg: int

    @property
    def precision(self) -> float | None:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else None

    @property
    def recall(self) -> float | None:
        present = self.true_pos + self.false_neg
        return self.true_pos / present if present else None


def summarize(records: Sequence[Mapping[str, Any]], targets: Sequence[str]) -> Summary:
    """Hit/miss/error counts; precision and recall for the targets over labelled bursts."""
    decided = [r for r in records if r["verdict"] in ("hit", "miss") and r.get("label")]
    truth = [(r["verdict"] == "hit", _is_target(r["label"], targets)) for r in decided]
    return Summary(
        bursts=len(records),
        hits=sum(r["verdict"] == "hit" for r in records),
        misses=sum(r["verdict"] == "miss" for r in records),
        errors=sum(r["verdict"] == "error" for r in records),
        labelled=len(decided),
        true_pos=sum(hit and target for hit, target in truth),
        false_pos=sum(hit and not target for hit, target in truth),
        false_neg=sum(target and not hit for hit, target in truth),
    )


def _is_target(label: str, targets: Sequence[str]) -> bool:
    return any(matches(t, label) for t in targets)
