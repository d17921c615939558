"""tools.gen_bursts: deterministic, schema-valid procedural bursts for every class."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools import gen_bursts

REPO = Path(__file__).resolve().parents[2]
SMALL = (160, 120)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.*"))}


def burst_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("burst.json"))


def test_same_seed_writes_identical_bursts_and_another_seed_does_not(tmp_path: Path) -> None:
    gen_bursts.generate(tmp_path / "a", seed=3, per_class=1, size=SMALL)
    gen_bursts.generate(tmp_path / "b", seed=3, per_class=1, size=SMALL)
    gen_bursts.generate(tmp_path / "c", seed=4, per_class=1, size=SMALL)
    a, b = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert a == b
    c = tree_bytes(tmp_path / "c")
    assert not set(a.values()) & set(c.values())


def test_burst_json_follows_the_burst_schema(tmp_path: Path) -> None:
    dirs = gen_bursts.generate(tmp_path, seed=5, per_class=2, size=SMALL)
    for d in dirs:
        meta = json.loads((d / "burst.json").read_text())
        assert meta["schema"] == "camtrap-burst/1"
        assert meta["device_id"] == "sim-01"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["trigger_time"])
        assert meta["frame_interval_s"] > 0
        pulses = meta["pir_pulses"]
        assert pulses[0] == 0.0 and pulses == sorted(pulses)
        assert meta["label"] in gen_bursts.CLASSES and meta["label"] == d.parent.name
        assert meta["seed"] == 5 and isinstance(meta["night"], bool)
        frames = sorted(p.name for p in d.glob("*.jpg"))
        assert 3 <= len(frames) <= 8
        assert frames == [f"{i:03d}.jpg" for i in range(len(frames))]


def test_every_class_comes_by_day_and_by_night(tmp_path: Path) -> None:
    dirs = gen_bursts.generate(tmp_path, seed=6, per_class=2, size=SMALL)
    seen = {(d.parent.name, json.loads((d / "burst.json").read_text())["night"]) for d in dirs}
    assert seen == {(c, n) for c in gen_bursts.CLASSES for n in (False, True)}
    assert "small spotted cat" in {d.parent.name for d in dirs}


def channel_spread(path: Path) -> int:
    px = np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
    return int(np.abs(px - px.mean(axis=2, keepdims=True)).max())


def test_night_frames_are_greyscale_and_day_frames_are_colour(tmp_path: Path) -> None:
    for d in gen_bursts.generate(tmp_path, seed=8, per_class=2, size=SMALL):
        night = json.loads((d / "burst.json").read_text())["night"]
        spreads = [channel_spread(f) for f in sorted(d.glob("*.jpg"))]
        if night:
            assert max(spreads) <= 2, d
        else:
            assert min(spreads) > 20, d


def test_frames_have_the_requested_size_and_stay_small(tmp_path: Path) -> None:
    (d,) = gen_bursts.generate(tmp_path / "s", seed=1, per_class=1, size=SMALL, classes=["boar"])
    assert {Image.open(f).size for f in d.glob("*.jpg")} == {SMALL}
    (d,) = gen_bursts.generate(tmp_path / "f", seed=1, per_class=1, classes=["leopard"])
    frames = list(d.glob("*.jpg"))
    assert {Image.open(f).size for f in frames} == {(320, 240)}
    assert max(f.stat().st_size for f in frames) < 40_000


def dark_share(img: Image.Image) -> float:
    return float(np.mean(np.asarray(img.convert("L")) < 60))


def test_cats_have_dark_markings_deer_are_plain_and_empty_has_no_animal() -> None:
    rng = np.random.default_rng(0)
    coats = {c: gen_bursts.Quadruped(c, 120, False, rng).coat for c in gen_bursts.SPECIES_SIZE}
    for cat in ("leopard", "tiger", "small spotted cat"):
        assert dark_share(coats[cat]) > 0.05, cat
    assert dark_share(coats["deer"]) == 0.0
    sprite = gen_bursts.Quadruped("leopard", 120, True, rng).sprite(0.0)
    assert 0.2 < float(np.mean(np.asarray(sprite.alpha) > 128)) < 0.8
    assert gen_bursts.make_actor("empty", rng, 160, 120) is None
    person = gen_bursts.make_actor("person", rng, 160, 120)
    assert person is not None and person.sprite(0.0).image.height > person.sprite(0.0).image.width


def test_cli_writes_bursts_and_rejects_a_bad_size(tmp_path: Path, capsys) -> None:
    args = [str(tmp_path), "--seed", "2", "--per-class", "1", "--size", "160x120"]
    assert gen_bursts.main([*args, "--classes", "deer,person"]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"deer", "person"}
    with pytest.raises(SystemExit) as e:
        gen_bursts.main([str(tmp_path), "--seed", "1", "--size", "big"])
    assert e.value.code == 2
    assert "--size" in capsys.readouterr().err


def test_bundled_demo_bursts_cover_all_classes_within_budget() -> None:
    root = REPO / "demo" / "bursts"
    if not root.is_dir():
        pytest.skip("demo/bursts not present")
    metas = [json.loads((d / "burst.json").read_text()) for d in burst_dirs(root)]
    assert {(m["label"], m["night"]) for m in metas} == {
        (c, n) for c in gen_bursts.CLASSES for n in (False, True)
    }
    assert {m["seed"] for m in metas} == {7}  # not a training seed (docs/models.md)
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert total <= 2.5 * 1024 * 1024


def test_bundled_demo_bursts_regenerate_from_their_seed(tmp_path: Path) -> None:
    root = REPO / "demo" / "bursts"
    if not root.is_dir():
        pytest.skip("demo/bursts not present")
    gen_bursts.generate(tmp_path, seed=7, per_class=3, far=1, far_size=(640, 480))
    bundled = {d.relative_to(root): (d / "burst.json").read_text() for d in burst_dirs(root)}
    fresh = {d.relative_to(tmp_path): (d / "burst.json").read_text() for d in burst_dirs(tmp_path)}
    assert bundled == fresh


def test_far_animals_are_small_boxed_and_leave_the_near_bursts_unchanged(tmp_path: Path) -> None:
    near = gen_bursts.generate(tmp_path / "a", seed=9, per_class=1, size=SMALL)
    both = gen_bursts.generate(
        tmp_path / "b", seed=9, per_class=1, size=SMALL, far=1, far_size=(320, 240)
    )
    assert tree_bytes(tmp_path / "a") == {
        k: v for k, v in tree_bytes(tmp_path / "b").items() if "-far-" not in k
    }
    far = [d for d in both if "-far-" in d.name]
    assert len(far) == len(gen_bursts.CLASSES) and len(both) == len(near) + len(far)
    for d in far:
        meta = json.loads((d / "burst.json").read_text())
        assert meta["far"] is True and Image.open(d / "000.jpg").size == (320, 240)
        boxes = meta.get("boxes", [])
        assert (meta["label"] == "empty") == (not boxes)
        assert len(boxes) in (0, len(list(d.glob("*.jpg"))))
        for x, y, w, h in boxes:
            assert min(x, y) >= 0 and x + w <= 1.0001 and y + h <= 1.0001
            if meta["label"] != "person":  # a far quadruped, head to tail, under 30 % of the width
                assert w < 0.3
