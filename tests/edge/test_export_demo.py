"""Done-when of the survey exports: the demo's data dir becomes a Camtrap DP package that
frictionless validates (official 1.0.2 schemas, offline) and a MegaDetector file whose images
and boxes match the stored records; a stored frame read back with Pillow shows its EXIF.
Bad input through the command: exit 2 naming what is missing, skipped bursts counted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from camtrap.core import exif as tags
from camtrap.core.exif import from_dms
from tests.edge.dpkit import errors, need_shared, validate_package

ROOT = Path(__file__).parents[2]
DEMO_BURSTS = ROOT / "demo" / "bursts"
DEMO_CONFIG = ROOT / "examples" / "demo.toml"
needs_demo = pytest.mark.skipif(
    not (ROOT / "models/camtrap-demo/model.tflite").exists() or not DEMO_BURSTS.is_dir(),
    reason="no demo model or bursts",
)


def camtrap(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "camtrap", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make demo`'s simulation (examples/demo.toml) on a leopard, a tiger and an empty burst."""
    tmp = tmp_path_factory.mktemp("demo")
    bursts = tmp / "bursts"
    for label in ("leopard", "tiger", "empty"):
        src = sorted((DEMO_BURSTS / label).iterdir())[0]
        shutil.copytree(src, bursts / src.name)
    config = tmp / "demo.toml"
    text = DEMO_CONFIG.read_text().replace('"out/demo/data"', f'"{tmp / "data"}"')
    config.write_text(text.replace('path = "models/', f'path = "{ROOT}/models/'))
    proc = camtrap("run", "--sim", str(bursts), "--config", str(config), "--speed", "4")
    assert proc.returncode == 0, proc.stderr
    return tmp


def records(data: Path) -> dict[str, dict]:
    out = {}
    for sidecar in sorted((data / "bursts").glob("*/*/burst.json")):
        out[sidecar.parent.relative_to(data).as_posix()] = json.loads(sidecar.read_text())
    return out


@needs_demo
@pytest.mark.shared
def test_the_demo_data_dir_exports_a_package_frictionless_validates(
    demo_data, tmp_path, monkeypatch
):
    need_shared()
    out = tmp_path / "dp"
    proc = camtrap(
        "export",
        "camtrap-dp",
        str(demo_data / "data"),
        "--out",
        str(out),
        "--config",
        str(demo_data / "demo.toml"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 deployment(s)" in proc.stdout
    report = validate_package(out, tmp_path, monkeypatch)
    assert report.valid, errors(report)
    descriptor = json.loads((out / "datapackage.json").read_text())
    assert descriptor["profile"].endswith("/1.0.2/camtrap-dp-profile.json")
    names = {t["scientificName"] for t in descriptor["taxonomic"]}
    assert "Panthera pardus orientalis" in names


@needs_demo
def test_the_megadetector_file_matches_the_stored_records(demo_data, tmp_path):
    out = tmp_path / "md.json"
    proc = camtrap(
        "export",
        "megadetector",
        str(demo_data / "data"),
        "--out",
        str(out),
        "--config",
        str(demo_data / "demo.toml"),
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    images = {i["file"]: i for i in result["images"]}
    stored = records(demo_data / "data")
    expected = {
        f"{key}/{f['name']}": (r, f) for key, r in stored.items() for f in r["verdict"]["frames"]
    }
    assert set(images) == set(expected)
    cats = result["classification_categories"]
    for file, (record, frame) in expected.items():
        assert (demo_data / "data" / file).is_file()
        detections = images[file]["detections"]
        if frame["top_label"] == "empty" and record["verdict"]["verdict"] == "miss":
            assert detections == []
            continue
        (d,) = detections
        assert d["bbox"] == (frame.get("box") or [0.0, 0.0, 1.0, 1.0])
        best = cats[d["classifications"][0][0]]
        assert best in (frame["top_label"], record["verdict"].get("target_label"))


@needs_demo
def test_a_stored_demo_frame_shows_its_exif(demo_data):
    key, record = next(
        (k, r) for k, r in records(demo_data / "data").items() if r["verdict"]["verdict"] == "hit"
    )
    frame = record["verdict"]["frames"][1]
    with Image.open(demo_data / "data" / key / frame["name"]) as im:
        exif = im.getexif()
    sub, gps = exif.get_ifd(tags.EXIF_IFD), exif.get_ifd(tags.GPS_IFD)
    assert record["time_source"] == "system"  # demo.toml trusts the desktop's clock
    assert sub[tags.OFFSET_ORIGINAL] == "+10:00" and len(sub[tags.SUBSEC_ORIGINAL]) == 3
    assert sub[tags.DATETIME_ORIGINAL][:4] == record["trigger_time"][:4]
    assert (exif[tags.MAKE], sub[tags.BODY_SERIAL]) == ("camtrap", "demo-01")
    assert exif[tags.IMAGE_DESCRIPTION] == f"event {record['event_id']} frame {frame['index']}"
    assert from_dms(gps[tags.GPS_LAT], gps[tags.GPS_LAT_REF]) == pytest.approx(43.1021, abs=1e-6)


@needs_demo
def test_replay_records_convert_with_from_records(tmp_path):
    src = sorted((DEMO_BURSTS / "leopard").iterdir())[0]
    jsonl = tmp_path / "replay.jsonl"
    proc = camtrap(
        "replay", str(src), "--model", "models/camtrap-demo/model.tflite", "--json-out", str(jsonl)
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "md.json"
    proc = camtrap(
        "export",
        "megadetector",
        "--from-records",
        str(jsonl),
        "--out",
        str(out),
        "--card",
        "models/camtrap-demo/model.json",
    )
    assert proc.returncode == 0, proc.stderr
    (record,) = [json.loads(x) for x in jsonl.read_text().splitlines()]
    result = json.loads(out.read_text())
    assert [i["file"] for i in result["images"]] == [
        f"{record['source']}/{f['name']}" for f in record["frames"]
    ]
    assert result["classification_category_descriptions"]  # the card's taxa


def test_bad_data_dirs_exit_2_naming_what_is_missing_or_count_what_was_skipped(tmp_path):
    data = tmp_path / "data"
    burst = data / "bursts" / "20261124" / "trap-07-1"
    burst.mkdir(parents=True)
    record = {
        "event_id": "trap-07-1",
        "trigger_time": "2026-11-24T06:00:00Z",
        "verdict": {
            "verdict": "hit",
            "target_score": 0.9,
            "top_label": "leopard",
            "top_score": 0.9,
            "frames": [{"index": 0, "name": "000.jpg", "top_label": "leopard"}],
        },
    }
    (burst / "burst.json").write_text(json.dumps(record))
    Image.new("RGB", (8, 8)).save(burst / "000.jpg")
    (data / "bursts" / "20261124" / "trap-07-2").mkdir()
    (data / "bursts" / "20261124" / "trap-07-2" / "burst.json").write_text("{")
    proc = camtrap("export", "camtrap-dp", str(data), "--out", str(tmp_path / "dp"))
    assert proc.returncode == 2
    assert "no burst has a deployment" in proc.stderr and "[deployment]" in proc.stderr
    assert not (tmp_path / "dp").exists()
    config = tmp_path / "c.toml"
    config.write_text('[deployment]\nid = "d1"\nlatitude = 43.1\nlongitude = 131.5\n')
    proc = camtrap(
        "export", "camtrap-dp", str(data), "--out", str(tmp_path / "dp"), "--config", str(config)
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 burst(s): 1 corrupt burst.json" in proc.stderr
    assert "trap-07-2" in proc.stderr
    proc = camtrap("export", "camtrap-dp", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "nowhere: not a directory" in proc.stderr
    config.write_text('[deployment]\nid = "d1"\nlatitude = 91.0\nlongitude = 131.5\n')
    proc = camtrap(
        "export", "camtrap-dp", str(data), "--out", str(tmp_path / "y"), "--config", str(config)
    )
    assert proc.returncode == 2 and "deployment.latitude: must be in -90..90" in proc.stderr
    proc = camtrap("export", "megadetector", "--out", str(tmp_path / "m.json"))
    assert proc.returncode == 2 and "DATA_DIR or --from-records" in proc.stderr
