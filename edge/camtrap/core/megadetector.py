"""MegaDetector batch-output JSON (format 1.4) from survey bursts. Pure.

The format (https://lila.science/megadetector-output-format) is what Timelapse, AddaxAI and
the MegaDetector postprocessing tools open. camtrap classifies frames (a whole frame, or its
regions when the regions stage ran), so each frame becomes one image with:

* one ``animal`` / ``person`` / ``vehicle`` detection when its best label is not a blank,
  ``conf`` the frame's score for that label, ``bbox`` the record's region ``box`` (normalised
  ``[x, y, w, h]``, top-left origin, the same convention) or the whole frame ``[0, 0, 1, 1]``
  when the record has none, and ``classifications`` ``[[category, score], ...]`` in descending
  order (the target label and the top label);
* ``detections: []`` for a blank frame; ``failure`` and ``detections: null`` for a frame that
  did not decode.

``classification_categories`` number the labels seen, in sorted order, and
``classification_category_descriptions`` carry the taxon table's scientific names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from camtrap.core.camtrap_dp import lookup_taxon, observation_kind
from camtrap.core.survey import SurveyBurst, SurveyFrame

FORMAT_VERSION = "1.4"
DETECTION_CATEGORIES = {"1": "animal", "2": "person", "3": "vehicle"}
_KIND_CATEGORY = {"animal": "1", "unknown": "1", "human": "2", "vehicle": "3"}
WHOLE_FRAME = [0.0, 0.0, 1.0, 1.0]


def batch_output(
    bursts: Sequence[SurveyBurst], taxa: Mapping[str, str], now: float, classifier: str = ""
) -> dict[str, Any]:
    """The whole results file."""
    categories = _categories(bursts)
    ids = {label: cid for cid, label in categories.items()}
    images = [_image(b, f, ids, taxa) for b in bursts for f in b.frames]
    models = sorted({b.model for b in bursts if b.model})
    out: dict[str, Any] = {
        "info": {
            "format_version": FORMAT_VERSION,
            "detector": "camtrap",
            "detection_completion_time": _when(now),
            "classifier": classifier or (", ".join(models) if models else "camtrap"),
            "classification_completion_time": _when(now),
        },
        "detection_categories": dict(DETECTION_CATEGORIES),
        "classification_categories": categories,
    }
    descriptions = _descriptions(categories, taxa)
    if descriptions:
        out["classification_category_descriptions"] = descriptions
    out["images"] = images
    return out


def _when(now: float) -> str:
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%d %H:%M:%S")


def _categories(bursts: Sequence[SurveyBurst]) -> dict[str, str]:
    labels = {lab for b in bursts for f in b.frames for lab in _labels(b, f)}
    return {str(i): label for i, label in enumerate(sorted(labels))}


def _descriptions(categories: Mapping[str, str], taxa: Mapping[str, str]) -> dict[str, str]:
    named = {cid: lookup_taxon(label, taxa) for cid, label in categories.items()}
    if not any(named.values()):
        return {}
    return {cid: name or categories[cid] for cid, name in named.items()}


def _labels(b: SurveyBurst, f: SurveyFrame) -> list[str]:
    out = [f.top_label] if f.top_label else []
    if b.target_label and b.target_label != f.top_label:
        out.append(b.target_label)
    return out


def _image(
    b: SurveyBurst, f: SurveyFrame, ids: Mapping[str, str], taxa: Mapping[str, str]
) -> dict[str, Any]:
    if f.error:
        return {"file": f.file, "failure": f.error, "detections": None}
    scored = _scored(b, f)
    if not scored:
        return {"file": f.file, "detections": []}
    best_label, best = scored[0]
    kind, _ = observation_kind(best_label, taxa)
    category = _KIND_CATEGORY.get(kind)
    if category is None:  # blank: no detection
        return {"file": f.file, "detections": []}
    detection = {
        "category": category,
        "conf": round(best, 4),
        "bbox": [round(v, 4) for v in f.box] if f.box else list(WHOLE_FRAME),
        "classifications": [[ids[label], round(score, 4)] for label, score in scored],
    }
    return {"file": f.file, "detections": [detection]}


def _scored(b: SurveyBurst, f: SurveyFrame) -> list[tuple[str, float]]:
    """(label, score) the frame's record knows, best first."""
    pairs = {}
    if f.top_label:
        pairs[f.top_label] = f.top_score
    if b.target_label:
        pairs[b.target_label] = max(pairs.get(b.target_label, 0.0), f.target_score)
    ranked = sorted(pairs.items(), key=lambda p: (-p[1], p[0]))
    return ranked[:1] + [p for p in ranked[1:] if round(p[1], 4) > 0]  # no 0.0 readings
