"""Survey exports: Camtrap DP rows and package, MegaDetector JSON, skipped bursts, atomicity."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from camtrap.adapters import export
from camtrap.adapters.store import BurstStore
from camtrap.core.camtrap_dp import observation_kind
from camtrap.core.camtrap_dp_package import PackageInfo
from camtrap.core.deployment import Deployment
from camtrap.core.exif import TrapIdentity
from camtrap.core.timebase import BurstTime, TimeStatus
from camtrap.core.types import BurstMeta, Frame, FrameScore, Verdict
from camtrap.errors import UsageError
from tests.edge.dpkit import SHARED_DP, errors, need_shared, validate_package

T0 = datetime(2026, 11, 24, 6, 19, 33, tzinfo=UTC).timestamp()
AMUR = Deployment(
    id="amur-2026-A07",
    location_name="Kedrovaya Pad, ridge trail",
    location_id="KP-07",
    latitude=43.1021,
    longitude=131.5412,
    coordinate_uncertainty_m=15,
    camera_height_m=0.6,
    camera_tilt_deg=-5,
    camera_heading_deg=270,
    setup_by="survey team B",
    start="2026-11-01T09:00:00+10:00",
    utc_offset="+10:00",
)
TAXA = {
    "leopard": "Panthera pardus orientalis",
    "tiger": "Panthera tigris altaica",
    "deer": "Cervidae",
    "empty": "blank",
    "person": "human",
}
MODEL = "camtrap-demo@65b9520e"


def jpeg(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 80, 20)).save(buf, "JPEG")
    return buf.getvalue()


def frames(n: int, shade: int = 0) -> list[Frame]:
    pixels = np.zeros((8, 8, 3), np.uint8)
    return [Frame(i, i * 0.5, pixels, f"{i:03d}.jpg", jpeg(shade + i)) for i in range(n)]


def verdict(decision: str, label: str, score: float, n: int = 3) -> Verdict:
    scores = tuple(
        FrameScore(i, score if label == "leopard" else 0.01, label, score) for i in range(n)
    )
    return Verdict(
        decision,
        score if decision == "hit" else 0.01,
        label,
        score,
        n,
        n,
        scores,
        n,
        "k_of_n:2/0.50",
    )  # type: ignore[arg-type]


def store_at(data: Path, deployment: Deployment | None = AMUR) -> BurstStore:
    trap = TrapIdentity("trap-07", software="camtrap 0.1.0")
    return BurstStore(data / "bursts", 10**9, trap=trap, deployment=deployment)


def survey(data: Path) -> Path:
    """A data dir: a leopard hit, a deer miss, an empty miss, an error, and two broken ones."""
    store = store_at(data)
    ntp = BurstTime(TimeStatus("ntp", 0.05, "boot-1"), 100.0)
    for i, (decision, label, score) in enumerate(
        [("hit", "leopard", 0.93), ("miss", "deer", 0.88), ("miss", "empty", 0.97)]
    ):
        meta = BurstMeta("camera", "trap-07", T0 + 600 * i, 0.5)
        v = verdict(decision, label, score)
        store.save(
            f"trap-07-{i + 1}",
            meta,
            v,
            frames(3, 10 * i),
            time=ntp,
            target_label="leopard",
            model=MODEL,
        )
    err = Verdict(
        "error",
        0.0,
        "",
        0.0,
        2,
        0,
        (FrameScore(0, 0.0, "", 0.0, "cannot decode"),),
        error="frame 0: cannot decode",
    )
    store.save(
        "trap-07-4",
        BurstMeta("camera", "trap-07", T0 + 2400, 0.5),
        err,
        frames(1),
        time=ntp,
        model=MODEL,
    )
    day = data / "bursts" / "20261124"
    (day / "trap-07-9").mkdir()
    (day / "trap-07-9" / "burst.json").write_text("{not json")
    (day / "trap-07-9" / "000.jpg").write_bytes(jpeg(1))
    (day / "trap-07-10").mkdir()
    (day / "trap-07-10" / "burst.json").write_text(json.dumps({"event_id": "trap-07-10"}))
    return data


def add_box(data: Path, event: str, index: int, box: list[float]) -> None:
    path = data / "bursts" / "20261124" / event / "burst.json"
    record = json.loads(path.read_text())
    record["verdict"]["frames"][index] |= {"box": box, "region_source": "motion"}
    path.write_text(json.dumps(record))


def package(data: Path) -> export.Package:
    return export.build_package(export.read_data_dir(data), TAXA, None, PackageInfo(created=T0))


def test_each_burst_is_an_event_with_machine_observations_and_taxa(tmp_path):
    data = survey(tmp_path / "data")
    add_box(data, "trap-07-1", 1, [0.25, 0.4, 0.2, 0.15])
    p = package(data)
    events = {o["eventID"]: o for o in p.tables.observations if o["observationLevel"] == "event"}
    hit = events["trap-07-1"]
    assert (hit["observationType"], hit["scientificName"]) == (
        "animal",
        "Panthera pardus orientalis",
    )
    assert hit["classificationMethod"] == "machine" and hit["classifiedBy"] == MODEL
    assert hit["classificationProbability"] == 0.93
    assert hit["eventStart"] == "2026-11-24T16:19:33+10:00"  # the deployment's local offset
    assert hit["eventEnd"] == "2026-11-24T16:19:34+10:00"  # last frame, 1 s after the trigger
    assert (events["trap-07-2"]["observationType"], events["trap-07-2"]["scientificName"]) == (
        "animal",
        "Cervidae",
    )
    assert events["trap-07-3"]["observationType"] == "blank"
    assert events["trap-07-4"]["observationType"] == "unclassified"
    (region,) = [o for o in p.tables.observations if o["observationLevel"] == "media"]
    assert region["mediaID"] == "trap-07-1-001" and region["eventID"] == "trap-07-1"
    assert [region[k] for k in ("bboxX", "bboxY", "bboxWidth", "bboxHeight")] == [
        0.25,
        0.4,
        0.2,
        0.15,
    ]
    assert len(p.tables.media) == 3 + 3 + 3 + 1
    media = {m["mediaID"]: m for m in p.tables.media}
    assert media["trap-07-1-002"]["filePath"] == "bursts/20261124/trap-07-1/002.jpg"
    assert media["trap-07-1-002"]["timestamp"] == "2026-11-24T16:19:34+10:00"
    (dep,) = p.tables.deployments
    assert dep["deploymentID"] == "amur-2026-A07" and dep["latitude"] == 43.1021
    assert dep["deploymentStart"] == "2026-11-01T09:00:00+10:00"
    assert p.descriptor["taxonomic"] == [
        {"scientificName": n} for n in ("Cervidae", "Panthera pardus orientalis")
    ]
    assert p.descriptor["spatial"] == {"type": "Point", "coordinates": [131.5412, 43.1021]}


def test_corrupt_sidecars_and_bursts_without_frames_are_skipped_and_counted(tmp_path):
    data = survey(tmp_path / "data")
    (data / "bursts" / "20261124" / "trap-07-3" / "000.jpg").unlink()
    for name in ("001.jpg", "002.jpg"):
        (data / "bursts" / "20261124" / "trap-07-3" / name).unlink()
    collected = export.read_data_dir(data)
    assert {b.event_id for b in collected.bursts} == {"trap-07-1", "trap-07-2", "trap-07-4"}
    assert collected.reasons() == {"corrupt burst.json": 1, "no frames": 2}
    assert {s.where for s in collected.skipped} == {
        "bursts/20261124/trap-07-9",
        "bursts/20261124/trap-07-10",
        "bursts/20261124/trap-07-3",
    }


def test_bursts_without_a_deployment_name_what_is_missing(tmp_path):
    data = tmp_path / "data"
    store_at(data, deployment=None).save(
        "trap-07-1",
        BurstMeta("camera", "trap-07", T0, 0.5),
        verdict("hit", "leopard", 0.9),
        frames(2),
    )
    with pytest.raises(UsageError, match=r"no burst has a deployment.*--config.*\[deployment\]"):
        package(data)
    fallback = export.build_package(export.read_data_dir(data), TAXA, AMUR, PackageInfo(created=T0))
    assert fallback.tables.deployments[0]["deploymentID"] == "amur-2026-A07"


def test_a_burst_of_an_unknown_clock_is_filed_undated_and_dated_by_a_later_sync(tmp_path):
    data = tmp_path / "data"
    unknown = BurstTime(TimeStatus("none", None, "boot-9"), 12.5)
    store_at(data).save(
        "trap-07-5",
        BurstMeta("camera", "trap-07", 10.0, 0.5),
        verdict("hit", "leopard", 0.9),
        frames(2),
        time=unknown,
    )
    assert (data / "bursts" / "undated" / "trap-07-5" / "burst.json").is_file()
    with pytest.raises(UsageError, match="time unknown"):
        package(data)
    sync = {
        "boot_id": "boot-9",
        "monotonic_s": 42.5,
        "time": T0 + 30,
        "source": "ntp",
        "uncertainty_s": 0.1,
    }
    (data / "timesync.jsonl").write_text(json.dumps(sync) + "\n")
    p = package(data)
    (event,) = [o for o in p.tables.observations if o["observationLevel"] == "event"]
    assert event["eventStart"] == "2026-11-24T16:19:33+10:00"  # 42.5 - 12.5 = 30 s before the sync
    assert p.tables.deployments[0]["timestampIssues"] is True


def test_the_package_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    data = survey(tmp_path / "data")
    p = package(data)
    written: list[str] = []

    def failing(path: Path, body: bytes) -> None:
        written.append(path.name)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        path.write_bytes(body)

    monkeypatch.setattr(export, "_write_synced", failing)
    with pytest.raises(OSError):
        export.write_camtrap_dp(tmp_path / "dp", p)
    assert not (tmp_path / "dp").exists()
    assert [q.name for q in tmp_path.iterdir()] == ["data"]  # no temporary directory left
    monkeypatch.undo()
    export.write_camtrap_dp(tmp_path / "dp", p)
    assert sorted(q.name for q in (tmp_path / "dp").iterdir()) == [
        "datapackage.json",
        "deployments.csv",
        "media.csv",
        "observations.csv",
    ]
    with pytest.raises(UsageError, match="exists and is not empty"):
        export.write_camtrap_dp(tmp_path / "dp", p)


@pytest.mark.shared
def test_the_exported_package_validates_against_the_official_profile(tmp_path, monkeypatch):
    need_shared()
    data = survey(tmp_path / "data")
    add_box(data, "trap-07-1", 1, [0.25, 0.4, 0.2, 0.15])
    export.write_camtrap_dp(tmp_path / "dp", package(data), copy_media=True)
    assert (tmp_path / "dp" / "bursts" / "20261124" / "trap-07-1" / "000.jpg").is_file()
    report = validate_package(tmp_path / "dp", tmp_path, monkeypatch)
    assert report.valid, errors(report)


@pytest.mark.shared
def test_the_official_example_validates_and_a_broken_package_does_not(tmp_path, monkeypatch):
    report = validate_package(need_shared() / "example", tmp_path / "a", monkeypatch)
    assert report.valid, errors(report)
    data = survey(tmp_path / "data")
    export.write_camtrap_dp(tmp_path / "dp", package(data))
    obs = tmp_path / "dp" / "observations.csv"
    obs.write_text(obs.read_text().replace(",machine,", ",robot,", 1))
    report = validate_package(tmp_path / "dp", tmp_path / "b", monkeypatch)
    assert not report.valid and "classificationMethod" in str(errors(report))
    export.write_camtrap_dp(tmp_path / "dp2", package(data))
    descriptor = json.loads((tmp_path / "dp2" / "datapackage.json").read_text())
    del descriptor["taxonomic"]
    (tmp_path / "dp2" / "datapackage.json").write_text(json.dumps(descriptor))
    report = validate_package(tmp_path / "dp2", tmp_path / "c", monkeypatch)
    assert not report.valid and "taxonomic" in str(errors(report))
    assert SHARED_DP.is_dir()


def test_megadetector_images_and_boxes_match_the_records(tmp_path):
    data = survey(tmp_path / "data")
    add_box(data, "trap-07-1", 1, [0.25, 0.4, 0.2, 0.15])
    out = tmp_path / "md.json"
    result = export.write_megadetector(out, export.read_data_dir(data), TAXA, T0)
    assert json.loads(out.read_text()) == result
    assert result["info"]["format_version"] == "1.4"
    assert result["detection_categories"] == {"1": "animal", "2": "person", "3": "vehicle"}
    cats = result["classification_categories"]
    images = {i["file"]: i for i in result["images"]}
    assert len(images) == 10
    boxed = images["bursts/20261124/trap-07-1/001.jpg"]["detections"]
    assert boxed == [
        {
            "category": "1",
            "conf": 0.93,
            "bbox": [0.25, 0.4, 0.2, 0.15],
            "classifications": [[next(k for k, v in cats.items() if v == "leopard"), 0.93]],
        }
    ]
    assert images["bursts/20261124/trap-07-1/000.jpg"]["detections"][0]["bbox"] == [
        0.0,
        0.0,
        1.0,
        1.0,
    ]
    assert images["bursts/20261124/trap-07-3/000.jpg"]["detections"] == []  # empty: blank
    deer = images["bursts/20261124/trap-07-2/000.jpg"]["detections"][0]
    assert deer["category"] == "1" and deer["conf"] == 0.88
    assert images["bursts/20261124/trap-07-4/000.jpg"] == {
        "file": "bursts/20261124/trap-07-4/000.jpg",
        "failure": "cannot decode",
        "detections": None,
    }
    desc = result["classification_category_descriptions"]
    assert desc[next(k for k, v in cats.items() if v == "leopard")] == "Panthera pardus orientalis"


def test_replay_records_convert_to_megadetector_the_same_way(tmp_path):
    records = tmp_path / "replay.jsonl"
    lines = [
        {
            "source": "bursts/leopard-1",
            "event_id": "replay-1",
            "verdict": "hit",
            "target_score": 0.9,
            "top_label": "leopard",
            "top_score": 0.9,
            "frames": [
                {
                    "index": 0,
                    "name": "000.jpg",
                    "target_score": 0.9,
                    "top_label": "leopard",
                    "top_score": 0.9,
                    "error": None,
                    "box": [0.1, 0.2, 0.3, 0.4],
                    "region_source": "motion",
                }
            ],
        },
        {
            "source": "photos/empty.png",
            "event_id": "replay-2",
            "verdict": "miss",
            "target_score": 0.0,
            "top_label": "empty",
            "top_score": 0.99,
            "frames": [
                {
                    "index": 0,
                    "name": "",
                    "target_score": 0.0,
                    "top_label": "empty",
                    "top_score": 0.99,
                    "error": None,
                }
            ],
        },
    ]
    records.write_text("\n".join(json.dumps(r) for r in lines) + "\n{broken\n")
    collected = export.read_records(records)
    assert collected.reasons() == {"corrupt record": 1}
    result = export.write_megadetector(tmp_path / "md.json", collected, TAXA, T0)
    images = {i["file"]: i["detections"] for i in result["images"]}
    assert images["bursts/leopard-1/000.jpg"][0]["bbox"] == [0.1, 0.2, 0.3, 0.4]
    assert images["photos/empty.png"] == []


def test_labels_map_to_observation_types_and_names():
    assert observation_kind("leopard, Panthera pardus", TAXA) == (
        "animal",
        "Panthera pardus orientalis",
    )
    assert observation_kind("Person", TAXA) == ("human", "")
    assert observation_kind("empty", {}) == ("blank", "")
    assert observation_kind("wolverine", TAXA) == ("unknown", "")


def test_a_hit_of_a_label_group_takes_the_groups_taxon():
    from camtrap.core.camtrap_dp import build_tables
    from camtrap.core.survey import burst_from_record

    record = {
        "event_id": "r-1",
        "trigger_time": "2026-11-24T06:00:00Z",
        "verdict": {
            "verdict": "hit",
            "target_score": 0.8,
            "target": "leopard",
            "target_label": "jaguar",
            "top_label": "jaguar",
            "top_score": 0.6,
            "frames": [{"index": 0, "name": "000.jpg", "top_label": "jaguar"}],
        },
    }
    burst = burst_from_record(record, "b", ["000.jpg"])
    tables = build_tables([burst], TAXA, AMUR)  # type: ignore[list-item]
    (event,) = tables.observations
    assert event["scientificName"] == "Panthera pardus orientalis"
    assert event["observationComments"] == "model label: jaguar (target leopard)"
