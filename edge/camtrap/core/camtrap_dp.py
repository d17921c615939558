"""Camtrap DP 1.0 tables (deployments, media, observations) from survey bursts. Pure.

Camtrap DP (https://camtrap-dp.tdwg.org, TDWG; what GBIF ingests and camtraptor/Agouti/Trapper
read) is a Frictionless Data Package with three tables. Here:

* ``deployments.csv``: one row per deployment id of the exported bursts (`Deployment`); its
  start and end default to the first and last burst when the config leaves them open.
* ``media.csv``: one row per stored frame (``<event id>-<index>``), captured by
  ``activityDetection``, ``filePath`` relative to the data directory.
* ``observations.csv``: one event-level observation per burst (``eventID`` = the event id), plus
  a media-level one per frame whose record has a region ``box`` from motion or tiles (the
  regions stage; a frame judged whole has the full frame as its box, which locates nothing),
  carrying ``bboxX/bboxY/bboxWidth/bboxHeight``. All are ``classificationMethod: machine``,
  ``classifiedBy`` the model, ``classificationProbability`` the burst (or frame) score.

What a label becomes comes from a label -> taxon table (the model card's ``taxa``): a scientific
name makes an ``animal`` observation, ``blank`` / ``human`` / ``vehicle`` / ``unknown`` make
that observation type; an unmapped label is ``unknown`` with the label in the comments (a
label is not a scientific name). Hits take the target label that won; other bursts their top
label. Bursts whose time the trap did not know, and which no later sync dated, have no place
in tables whose timestamps are required: the exporter skips them with a counted reason.

The package's descriptor (``datapackage.json``) is `camtrap.core.camtrap_dp_package`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from camtrap.core.deployment import Deployment, offset_tz
from camtrap.core.survey import SurveyBurst, SurveyFrame, is_blank

VERSION = "1.0.2"
BASE = f"https://raw.githubusercontent.com/tdwg/camtrap-dp/{VERSION}/"
PROFILE = BASE + "camtrap-dp-profile.json"
TABLES = ("deployments", "media", "observations")
OBSERVATION_TYPES = ("blank", "human", "vehicle", "unknown", "animal", "unclassified")

DEPLOYMENT_FIELDS = [
    "deploymentID",
    "locationID",
    "locationName",
    "latitude",
    "longitude",
    "coordinateUncertainty",
    "deploymentStart",
    "deploymentEnd",
    "setupBy",
    "cameraID",
    "cameraModel",
    "cameraDelay",
    "cameraHeight",
    "cameraDepth",
    "cameraTilt",
    "cameraHeading",
    "detectionDistance",
    "timestampIssues",
    "baitUse",
    "featureType",
    "habitat",
    "deploymentGroups",
    "deploymentTags",
    "deploymentComments",
]
MEDIA_FIELDS = [
    "mediaID",
    "deploymentID",
    "captureMethod",
    "timestamp",
    "filePath",
    "filePublic",
    "fileName",
    "fileMediatype",
    "exifData",
    "favorite",
    "mediaComments",
]
OBSERVATION_FIELDS = [
    "observationID",
    "deploymentID",
    "mediaID",
    "eventID",
    "eventStart",
    "eventEnd",
    "observationLevel",
    "observationType",
    "cameraSetupType",
    "scientificName",
    "count",
    "lifeStage",
    "sex",
    "behavior",
    "individualID",
    "individualPositionRadius",
    "individualPositionAngle",
    "individualSpeed",
    "bboxX",
    "bboxY",
    "bboxWidth",
    "bboxHeight",
    "classificationMethod",
    "classifiedBy",
    "classificationTimestamp",
    "classificationProbability",
    "observationTags",
    "observationComments",
]
FIELDS = {
    "deployments": DEPLOYMENT_FIELDS,
    "media": MEDIA_FIELDS,
    "observations": OBSERVATION_FIELDS,
}

Row = dict[str, Any]


@dataclass(frozen=True)
class Tables:
    deployments: list[Row]
    media: list[Row]
    observations: list[Row]

    def rows(self, name: str) -> list[Row]:
        return {
            "deployments": self.deployments,
            "media": self.media,
            "observations": self.observations,
        }[name]


def observation_kind(label: str, taxa: Mapping[str, str]) -> tuple[str, str]:
    """(observationType, scientificName) for a model label under the taxon table."""
    name = lookup_taxon(label, taxa)
    if name is None:
        return ("blank", "") if is_blank(label) else ("unknown", "")
    if name in OBSERVATION_TYPES:
        return name, ""
    return "animal", name


def lookup_taxon(label: str, taxa: Mapping[str, str]) -> str | None:
    """The table entry for a label: exact, ignoring case, or its first comma-separated name."""
    folded = {k.strip().lower(): v for k, v in taxa.items()}
    for key in (label.strip().lower(), label.split(",")[0].strip().lower()):
        if key in folded:
            return folded[key]
    return None


def build_tables(
    bursts: Sequence[SurveyBurst], taxa: Mapping[str, str], fallback: Deployment | None = None
) -> Tables:
    """The three tables; every burst must have a time and a deployment (the exporter skips
    the others before calling this)."""
    media: list[Row] = []
    observations: list[Row] = []
    for b in bursts:
        dep = _deployment_of(b, fallback)
        media.extend(_media_row(b, f, dep) for f in b.frames)
        observations.append(_event_observation(b, dep, taxa))
        observations.extend(_frame_observation(b, f, dep, taxa) for f in b.frames if _located(f))
    return Tables(_deployment_rows(bursts, fallback), media, observations)


def _located(f: SurveyFrame) -> bool:
    """A frame whose winning region says where the animal was (not the whole frame)."""
    return f.box is not None and f.region_source != "full" and f.error is None


def _deployment_of(b: SurveyBurst, fallback: Deployment | None) -> Deployment:
    dep = b.deployment or fallback
    if dep is None or b.time is None:
        raise ValueError(f"{b.key}: needs a deployment and a known time")  # a caller's bug
    return dep


def _deployment_rows(bursts: Sequence[SurveyBurst], fallback: Deployment | None) -> list[Row]:
    by_id: dict[str, list[SurveyBurst]] = {}
    deps: dict[str, Deployment] = {}
    for b in bursts:
        dep = _deployment_of(b, fallback)
        by_id.setdefault(dep.id, []).append(b)
        deps.setdefault(dep.id, dep)
    return [_deployment_row(deps[i], by_id[i]) for i in sorted(by_id)]


def _deployment_row(d: Deployment, bursts: Sequence[SurveyBurst]) -> Row:
    times = [t for b in bursts for t in (b.time, b.end_time) if t is not None]
    start = d.start_time if d.start_time is not None else min(times)
    end = d.end_time if d.end_time is not None else max(times)
    devices = sorted({b.device_id for b in bursts if b.device_id})
    return {
        "deploymentID": d.id,
        "locationID": d.location_id,
        "locationName": d.location_name,
        "latitude": d.latitude,
        "longitude": d.longitude,
        "coordinateUncertainty": d.coordinate_uncertainty_m,
        "deploymentStart": stamp(min(start, min(times)), d),
        "deploymentEnd": stamp(max(end, max(times)), d),
        "setupBy": d.setup_by,
        "cameraID": " | ".join(devices),
        "cameraModel": "camtrap",
        "cameraHeight": d.camera_height_m,
        "cameraTilt": d.camera_tilt_deg,
        "cameraHeading": d.camera_heading_deg,
        "timestampIssues": any(_time_issue(b) for b in bursts),
        "baitUse": d.bait,
        "deploymentComments": _time_comment(bursts),
    }


def _time_issue(b: SurveyBurst) -> bool:
    """Dated after the fact, or by the MCU's clock with more than a minute of doubt."""
    doubt = b.time_uncertainty_s
    return b.time_corrected or (b.time_source == "mcu" and (doubt is None or doubt > 60))


def _time_comment(bursts: Sequence[SurveyBurst]) -> str:
    sources = sorted({b.time_source for b in bursts})
    corrected = sum(b.time_corrected for b in bursts)
    text = f"time sources: {', '.join(sources)}"
    return text + (f"; {corrected} burst(s) dated from a later clock sync" if corrected else "")


def _media_id(b: SurveyBurst, f: SurveyFrame) -> str:
    return f"{b.event_id}-{f.index:03d}"


def _media_row(b: SurveyBurst, f: SurveyFrame, d: Deployment) -> Row:
    assert b.time is not None
    name = f.file.rsplit("/", 1)[-1]
    return {
        "mediaID": _media_id(b, f),
        "deploymentID": d.id,
        "captureMethod": "activityDetection",
        "timestamp": stamp(b.time + f.t, d),
        "filePath": f.file,
        "filePublic": False,
        "fileName": name,
        "fileMediatype": mediatype(name),
        "favorite": b.verdict == "hit",
        "mediaComments": f"frame error: {f.error}" if f.error else "",
    }


def _event_observation(b: SurveyBurst, d: Deployment, taxa: Mapping[str, str]) -> Row:
    assert b.time is not None and b.end_time is not None
    label = _burst_label(b, taxa)
    row = _classified(b, d, taxa, label, _burst_score(b))
    if b.verdict == "hit" and b.target_label and b.target_label != label:
        row["observationComments"] = f"model label: {b.target_label} (target {label})"
    row |= {
        "observationID": b.event_id,
        "eventStart": stamp(b.time, d),
        "eventEnd": stamp(b.end_time, d),
        "observationLevel": "event",
    }
    if b.verdict == "error":
        row |= {
            "observationType": "unclassified",
            "scientificName": "",
            "classificationProbability": None,
        }
    return row


def _frame_observation(
    b: SurveyBurst, f: SurveyFrame, d: Deployment, taxa: Mapping[str, str]
) -> Row:
    assert b.time is not None and f.box is not None
    label = _burst_label(b, taxa) if b.verdict == "hit" else f.top_label
    score = f.target_score if b.verdict == "hit" else f.top_score
    x, y, w, h = f.box
    row = _classified(b, d, taxa, label, score)
    row |= {
        "observationID": f"{_media_id(b, f)}-region",
        "mediaID": _media_id(b, f),
        "eventStart": stamp(b.time + f.t, d),
        "eventEnd": stamp(b.time + f.t, d),
        "observationLevel": "media",
        "bboxX": _r(x),
        "bboxY": _r(y),
        "bboxWidth": _r(w),
        "bboxHeight": _r(h),
    }
    row["observationTags"] = f"regionSource:{f.region_source}" if f.region_source else ""
    return row


def _classified(
    b: SurveyBurst, d: Deployment, taxa: Mapping[str, str], label: str, score: float
) -> Row:
    kind, name = observation_kind(label, taxa)
    comment = f"model label: {label}" if label else ""
    return {
        "deploymentID": d.id,
        "eventID": b.event_id,
        "observationType": kind,
        "scientificName": name,
        "classificationMethod": "machine",
        "classifiedBy": b.model or "camtrap",
        "classificationProbability": _r(min(1.0, max(0.0, score))),
        "observationComments": comment,
    }


def _burst_label(b: SurveyBurst, taxa: Mapping[str, str] | None = None) -> str:
    """A hit's target (its group name first: the Amur preset's ``leopard`` when a jaguar
    reading scored), else the top label."""
    if b.verdict == "hit":
        if b.target_name and taxa is not None and lookup_taxon(b.target_name, taxa):
            return b.target_name
        if b.target_label:
            return b.target_label
    return b.top_label


def _burst_score(b: SurveyBurst) -> float:
    return b.target_score if b.verdict == "hit" else b.top_score


def _r(x: float) -> float:
    return round(x, 6)


def stamp(t: float, d: Deployment) -> str:
    """ISO 8601 in the deployment's offset, whole seconds: ``2026-11-24T16:00:00+10:00``."""
    local = datetime.fromtimestamp(int(t), offset_tz(d.utc_offset))
    return local.isoformat()


def mediatype(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "bmp": "image/bmp"}.get(
        ext, "application/octet-stream"
    )


def csv_cell(value: Any) -> str:
    """Camtrap DP's CSV conventions: empty for missing, ``true``/``false`` for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)
