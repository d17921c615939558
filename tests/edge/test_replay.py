"""Replay: the replay camera, the burst pipeline over it, and the bundled-burst golden run."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from burstkit import BLUE, GREEN, RED, corrupt, detector, write_burst
from PIL import Image

from camtrap.core.pipeline import classify_burst
from camtrap.core.verdict import Rule
from camtrap.errors import BadFrameError
from camtrap.replay import replay
from camtrap.sim.bursts import discover
from camtrap.sim.replay_camera import ReplayCamera, decode_frame

ROOT = Path(__file__).parents[2]
DEMO_MODEL = ROOT / "models" / "camtrap-demo" / "model.tflite"
DEMO_BURSTS = ROOT / "demo" / "bursts"
GOLDEN = Path(__file__).parent / "golden" / "demo_replay.jsonl"
GOLDEN_MODEL = GOLDEN.with_suffix(".model")  # sha256 of the model the golden records came from


def jpeg(size: tuple[int, int], colour=(200, 100, 50)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_jpeg_is_decoded_at_reduced_size_and_keeps_its_bytes():
    data = jpeg((640, 480))
    frame = decode_frame(data, 3, 1.5, "dir/003.jpg", draft_size=(96, 96))
    assert frame.pixels.shape == (120, 160, 3)  # DCT scaling 1/4: smallest not below 96x96
    assert frame.image == data and frame.name == "003.jpg" and (frame.index, frame.t) == (3, 1.5)


def test_without_a_draft_size_the_frame_is_full_size():
    assert decode_frame(jpeg((64, 48)), 0, 0.0, "a.jpg", None).pixels.shape == (48, 64, 3)


def test_truncated_and_garbage_files_raise_bad_frame_naming_the_file():
    data = jpeg((640, 480))
    with pytest.raises(BadFrameError, match=r"x/001\.jpg: cannot decode"):
        decode_frame(data[: len(data) // 2], 1, 0.0, "x/001.jpg", (96, 96))
    with pytest.raises(BadFrameError) as garbage:
        decode_frame(b"not an image", 2, 0.0, "002.png", None)
    # the same reason on every run: no in-memory file address (golden records compare it)
    assert str(garbage.value) == "002.png: cannot decode: not an image format Pillow reads"


def test_replay_camera_serves_bursts_in_order_and_stops_at_n(tmp_path: Path):
    write_burst(tmp_path / "a", [RED, RED, RED])
    write_burst(tmp_path / "b", [GREEN])
    camera = ReplayCamera(discover([tmp_path]), input_size=(8, 8))
    first = list(camera.burst(2, 0.5))
    assert [f.index for f in first] == [0, 1] and [f.t for f in first] == [0.0, 0.5]
    assert not camera.exhausted and camera.peek() is not None
    second = list(camera.burst(5, 0.5))
    assert len(second) == 1 and second[0].pixels[0, 0, 1] > 200
    assert camera.exhausted and not camera.busy


def test_pipeline_stops_the_camera_once_settled(tmp_path: Path):
    write_burst(tmp_path / "b", [RED, RED, RED, RED, RED])
    camera = ReplayCamera(discover([tmp_path / "b"]), (8, 8))
    frames = camera.burst(5, 0.0)
    det = detector(Rule("k_of_n", 2, 0.5))
    result = classify_burst(frames, 5, det)
    assert result.verdict.decision == "hit" and result.verdict.frames_classified == 2
    assert det.classifier.calls == 2 and not camera.busy  # the generator was closed
    assert result.names == ("000.jpg", "001.jpg") and result.target_label.startswith("leopard")


def test_without_early_exit_every_frame_is_classified(tmp_path: Path):
    write_burst(tmp_path / "b", [RED, RED, BLUE, BLUE])
    camera = ReplayCamera(discover([tmp_path / "b"]), (8, 8))
    result = classify_burst(camera.burst(4, 0.0), 4, detector(Rule("k_of_n", 2, 0.5, False)))
    v = result.verdict
    assert (v.decision, v.frames_classified, v.frames_agreeing) == ("hit", 4, 2)


def test_a_corrupt_frame_makes_its_burst_an_error_and_the_rest_go_on(tmp_path: Path):
    write_burst(tmp_path / "1-good", [RED, RED], label="leopard")
    bad = write_burst(tmp_path / "2-bad", [RED, GREEN, RED], label="leopard")
    corrupt(bad / "001.jpg")
    write_burst(tmp_path / "3-good", [BLUE, BLUE], label="empty")
    records = replay(discover([tmp_path]), detector(Rule("k_of_n", 2, 0.5, False)))
    assert [r["verdict"] for r in records] == ["hit", "error", "miss"]
    err = records[1]
    assert "001.jpg: cannot decode" in err["error"] and err["frames_classified"] == 1
    assert err["frames"][1]["error"] == err["error"] and err["frames"][1]["name"] == ""
    assert err["label"] == "leopard" and err["event_id"] == "sim-01-1"


def test_a_bad_burst_json_fails_its_burst_naming_file_and_key_and_the_rest_go_on(
    tmp_path: Path,
):
    write_burst(tmp_path / "1-good", [RED, RED], label="leopard")
    bad = write_burst(tmp_path / "2-bad", [RED, RED], label="leopard")
    (bad / "burst.json").write_text(json.dumps({"schema": "camtrap-burst/1"}))
    write_burst(tmp_path / "3-good", [BLUE, BLUE], label="empty")
    records = replay(discover([tmp_path]), detector(Rule("k_of_n", 2, 0.5, False)))
    assert [r["verdict"] for r in records] == ["hit", "error", "miss"]
    err = records[1]
    assert err["error"] == f"{bad / 'burst.json'}: frame_interval_s: missing"
    assert (err["frames_total"], err["frames_classified"]) == (2, 0)


def test_replay_record_has_the_contract_fields(tmp_path: Path):
    write_burst(tmp_path / "b", [RED, GREEN], label="deer")
    [r] = replay(discover([tmp_path]), detector())
    assert set(r) == {
        "source",
        "event_id",
        "verdict",
        "target_score",
        "top_label",
        "top_score",
        "frames_total",
        "frames_classified",
        "frames_agreeing",
        "rule",
        "frames",
        "error",
        "label",
        "target",  # the target that scored (a label roll-up group's name)
        "target_label",  # and the model label that scored for it
        "box",
        "region_source",
        "region_frame",
    }
    assert set(r["frames"][0]) == {
        "index",
        "name",
        "target_score",
        "top_label",
        "top_score",
        "error",
        "box",
        "region_source",
        "regions",
        "region_reason",
    }
    json.dumps(r)  # JSON-serialisable as it is


needs_demo = pytest.mark.skipif(
    not (DEMO_MODEL.exists() and DEMO_BURSTS.is_dir()), reason="no demo model or bursts"
)


@pytest.fixture(scope="module")
def demo_records() -> list[dict]:
    from camtrap.config import ModelConfig, VerdictConfig
    from camtrap.detector import build_detector

    det = build_detector(ModelConfig(path=str(DEMO_MODEL)), VerdictConfig())
    return replay(discover([DEMO_BURSTS]), det)


# Judged by its regions (the default), one bundled small spotted cat reads as a leopard: its
# crops lose the size that tells the two apart, and the demo model, retrained on crops, still
# takes four of its eight crops for a leopard (docs/pipeline.md). Pinned, so any change shows.
KNOWN_FALSE_HITS = {"small-spotted-cat-s7-002"}


@needs_demo
def test_bundled_bursts_get_the_verdicts_their_labels_say(demo_records: list[dict]):
    assert len(demo_records) >= 7
    for r in demo_records:
        known = Path(r["source"]).name in KNOWN_FALSE_HITS
        want = "hit" if r["label"] == "leopard" or known else "miss"
        assert r["verdict"] == want, r["source"]


@needs_demo
def test_whole_frames_get_every_near_burst_right_and_miss_the_far_leopard():
    from camtrap.config import ModelConfig, RegionsConfig, VerdictConfig
    from camtrap.detector import build_detector

    det = build_detector(ModelConfig(path=str(DEMO_MODEL)), VerdictConfig(), RegionsConfig("off"))
    for r in replay(discover([DEMO_BURSTS]), det):
        far = "-far-" in r["source"]
        want = "hit" if r["label"] == "leopard" and not far else "miss"
        assert r["verdict"] == want, r["source"]


@needs_demo
def test_the_far_leopard_is_missed_whole_and_found_by_its_regions(demo_records: list[dict]):
    from dataclasses import replace as with_

    from camtrap.config import ModelConfig, VerdictConfig
    from camtrap.detector import build_detector

    far = [r for r in demo_records if "-far-" in r["source"] and r["label"] == "leopard"]
    assert far and all(r["verdict"] == "hit" and r["region_source"] == "motion" for r in far)
    det = build_detector(ModelConfig(path=str(DEMO_MODEL)), VerdictConfig())
    whole = replay(discover([r["source"] for r in far]), with_(det, regions=None))
    assert all(r["verdict"] == "miss" for r in whole)


def golden_is_for_this_model() -> bool:
    if not (GOLDEN.exists() and GOLDEN_MODEL.exists() and DEMO_MODEL.exists()):
        return False
    return GOLDEN_MODEL.read_text().strip() == hashlib.sha256(DEMO_MODEL.read_bytes()).hexdigest()


@needs_demo
@pytest.mark.skipif(
    not golden_is_for_this_model(),
    reason="golden records are for another model: regenerate them (docs/pipeline.md)",
)
def test_bundled_bursts_match_the_golden_records():
    """Pins the pipeline for a fixed model and rule: the rule comes from the golden records, so
    recalibrating the card (`camtrap calibrate --write-card`) does not break it, retraining does."""
    from camtrap.config import ModelConfig, VerdictConfig
    from camtrap.detector import build_detector

    golden = [json.loads(line) for line in GOLDEN.read_text().splitlines()]
    name, _, point = golden[0]["rule"].partition(":")
    k, _, threshold = point.partition("/")
    rule = VerdictConfig(rule=name, k=int(k), threshold=float(threshold), early_exit=True)
    det = build_detector(ModelConfig(path=str(DEMO_MODEL)), rule)
    got = [_stable(r) for r in replay(discover([DEMO_BURSTS]), det)]
    assert got == [_stable(r) for r in golden]


def _stable(r: dict) -> dict:
    """A record without machine paths, scores and boxes to 2 decimals (runtimes differ in
    rounding), each frame's winning region source."""
    out = {k: v for k, v in r.items() if k not in ("source", "frames")}
    out["source"] = Path(r["source"]).name
    out["target_score"] = round(r["target_score"], 2)
    out["top_score"] = round(r["top_score"], 2)
    out["box"] = [round(v, 2) for v in r["box"]]
    out["frames"] = [
        (f["name"], f["top_label"], round(f["target_score"], 2), f["region_source"])
        for f in r["frames"]
    ]
    return out


def test_pixels_of_a_frame_are_rgb_uint8(tmp_path: Path):
    Image.new("L", (16, 16), 128).save(tmp_path / "grey.png")
    frame = decode_frame((tmp_path / "grey.png").read_bytes(), 0, 0.0, "grey.png", None)
    assert frame.pixels.dtype == np.uint8 and frame.pixels.shape == (16, 16, 3)


def test_a_burst_without_frames_is_an_error(tmp_path: Path):
    write_burst(tmp_path / "empty-burst", [])
    [r] = replay(discover([tmp_path]), detector())
    assert (r["verdict"], r["error"], r["frames"]) == ("error", "no frames captured", [])
