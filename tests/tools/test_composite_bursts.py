"""Real photos: leopards walking across real camera-trap scenes, found by regions.

Uses ../shared/realdata and the shared MobileNetV2 where they exist (development and CI
machines); skips cleanly elsewhere. A handful of bursts only: the figures over all the photos
come from ``python -m tools.composite_bursts`` (docs/pipeline.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools import composite_bursts as cb

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(
        not (cb.PHOTOS.is_dir() and cb.MODEL.is_file()),
        reason="../shared/realdata or the shared MobileNetV2 is not on this machine",
    ),
]


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    out = tmp_path_factory.mktemp("composite")
    return cb.generate(out, widths=(0.2,), seed=3, limit=4, others_per_width=4)


def test_bursts_are_five_frames_with_the_leopard_boxed_where_it_was_pasted(groups):
    assert {g: len(v) for g, v in groups.items()} == {"leopard-20": 4, "other-20": 4, "light": 4}
    for bdir in groups["leopard-20"]:
        meta = json.loads((bdir / "burst.json").read_text())
        frames = sorted(bdir.glob("*.jpg"))
        assert len(frames) == 5 and meta["label"] == "leopard" and meta["width"] == 0.2
        assert Image.open(frames[0]).width <= cb.MAX_WIDTH
        xs = [b[0] for b in meta["boxes"]]
        assert len(set(xs)) > 1 and xs in (sorted(xs), sorted(xs, reverse=True))  # it walks
        for x, y, bw, bh in meta["boxes"]:
            assert abs(bw - 0.2) < 0.02 or bh > 0.85  # a tall photo is capped by the height
            assert 0 <= x <= 1 - bw + 1e-3 and 0 <= y <= 1 - bh + 1e-3


def test_every_burst_is_built_inside_one_fold(groups):
    from tools import composite_heldout as heldout

    for group, dirs in groups.items():
        for bdir in dirs:
            meta = json.loads((bdir / "burst.json").read_text())
            assert meta["fold"] == heldout.fold_of_site(meta["scene"])  # the scene's fold
            if group.startswith("leopard"):  # and the leopard photo's
                assert meta["fold"] == heldout.fold_of_photo(cb.PHOTOS / "leopard" / meta["photo"])
            elif group.startswith("other"):  # the piece walking across comes from that fold too
                assert heldout.fold_of_site(meta["photo"]) == meta["fold"]


def test_regions_find_small_leopards_in_real_scenes_that_the_full_frame_misses(groups):
    from dataclasses import replace

    from camtrap.core.regions import Box
    from camtrap.replay import replay
    from camtrap.sim.bursts import read_burst

    detector = cb.load_detector()
    leopards = [read_burst(d) for d in groups["leopard-20"]]
    full = replay(leopards, replace(detector, regions=None), out=None)
    found = replay(leopards, detector, out=None)
    assert sum(r["verdict"] == "hit" for r in found) > sum(r["verdict"] == "hit" for r in full)
    ious = []
    for r, bdir in zip(found, groups["leopard-20"], strict=True):
        truth = json.loads((bdir / "burst.json").read_text())["boxes"]
        for f in r["frames"]:
            if f["region_source"] == "motion":
                ious.append(Box(*f["box"]).iou(Box(*truth[f["index"]])))
    assert ious and float(np.median(ious)) >= 0.5
    others = [read_burst(d) for d in groups["other-20"] + groups["light"]]
    assert all(r["verdict"] == "miss" for r in replay(others, detector, out=None))
