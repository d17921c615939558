"""The Camtrap DP 1.0 package descriptor (``datapackage.json``) for the tables. Pure.

It names the profile, the three resources with their table schemas (`camtrap.core.camtrap_dp`
builds the rows) and the coverage the profile requires: ``spatial`` (a GeoJSON Point, line or
bounding box over the deployments), ``temporal`` (first start to last end) and ``taxonomic``
(every scientific name observed); ``observationLevel`` says ``media`` too when a frame-level
observation is in the tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from camtrap.core.camtrap_dp import BASE, PROFILE, TABLES, Row, Tables


@dataclass(frozen=True)
class PackageInfo:
    """What the descriptor says about the package beyond the tables."""

    title: str = "camtrap survey export"
    project_title: str = "camtrap survey"
    contributor: str = "camtrap"
    sampling_design: str = "targeted"  # traps set on trails for a target species
    created: float = 0.0  # unix s: the export's `now`
    package_id: str = ""


def descriptor(tables: Tables, info: PackageInfo, taxa: Mapping[str, str]) -> dict[str, Any]:
    """``datapackage.json``: the profile, the three resources and the required coverage."""
    created = datetime.fromtimestamp(int(info.created), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out: dict[str, Any] = {
        "profile": PROFILE,
        "name": "camtrap-survey",
        "created": created,
        "title": info.title,
        "contributors": [{"title": info.contributor, "role": "contact"}],
        "project": {
            "title": info.project_title,
            "samplingDesign": info.sampling_design,
            "captureMethod": ["activityDetection"],
            "individualAnimals": False,
            "observationLevel": ["event", "media"] if _has_media_level(tables) else ["event"],
        },
        "spatial": spatial(tables.deployments),
        "temporal": temporal(tables.deployments),
        "taxonomic": taxonomic(tables.observations),
        "resources": [_resource(name) for name in TABLES],
    }
    if info.package_id:
        out["id"] = info.package_id
    return out


def _resource(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "path": f"{name}.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": f"{BASE}{name}-table-schema.json",
    }


def _has_media_level(tables: Tables) -> bool:
    return any(o["observationLevel"] == "media" for o in tables.observations)


def spatial(deployments: Sequence[Row]) -> dict[str, Any]:
    """GeoJSON: a Point for one place, else the bounding box as a Polygon."""
    lons = [float(d["longitude"]) for d in deployments]
    lats = [float(d["latitude"]) for d in deployments]
    if len(set(zip(lons, lats, strict=True))) == 1:
        return {"type": "Point", "coordinates": [lons[0], lats[0]]}
    w, e, s, n = min(lons), max(lons), min(lats), max(lats)
    if w == e or s == n:
        return {"type": "LineString", "coordinates": [[w, s], [e, n]]}
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return {"type": "Polygon", "coordinates": [ring]}


def temporal(deployments: Sequence[Row]) -> dict[str, str]:
    starts = [str(d["deploymentStart"])[:10] for d in deployments]
    ends = [str(d["deploymentEnd"])[:10] for d in deployments]
    return {"start": min(starts), "end": max(ends)}


def taxonomic(observations: Sequence[Row]) -> list[dict[str, str]]:
    names = sorted({o["scientificName"] for o in observations if o.get("scientificName")})
    return [{"scientificName": n} for n in names]
