"""The burst loop with regions on: a far animal found, early exit still exact, bad input safe.

`RedClassifier` is a behaving fake at the Classifier port: a region's leopard probability is
the share of its pixels that are leopard-red, so a red animal a tenth of the frame wide is
nothing in the whole frame and everything in its crop, which is the case regions exist for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from camtrap.core.pipeline import Detector, classify_burst
from camtrap.core.records import replay_record
from camtrap.core.regions import Box, RegionParams
from camtrap.core.targets import resolve_targets
from camtrap.core.types import BurstMeta, Frame
from camtrap.core.verdict import Rule

LABELS = ("leopard", "empty")
RED = np.array([220, 30, 20], np.uint8)


class RedClassifier:
    labels: Sequence[str] = LABELS
    input_size: tuple[int, int] = (16, 16)

    def __init__(self) -> None:
        self.calls = 0

    def classify(self, pixels: np.ndarray) -> np.ndarray:
        assert pixels.shape == (16, 16, 3)
        self.calls += 1
        red = (pixels[..., 0] > 160) & (pixels[..., 1] < 90)
        p = min(1.0, float(red.mean()) * 2.5)  # an animal filling 40 % of a crop scores 1
        return np.array([p, 1.0 - p], np.float32)


def detector(rule: Rule, regions: bool = True) -> Detector:
    clf = RedClassifier()
    params = RegionParams(max_regions=2) if regions else None
    return Detector(clf, resolve_targets(["leopard"], LABELS), rule, regions=params)


def scene(seed: int, w: int = 320, h: int = 240) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = rng.integers(50, 170, (12, 16, 3), dtype=np.uint8)
    grid[..., 0] = grid[..., 1]  # grey-green ground: nothing red
    return np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC))


def burst(
    present: Sequence[bool], seed: int = 0, width: float = 0.1, size: tuple[int, int] = (320, 240)
) -> tuple[list[Frame], list[Box | None]]:
    """Frames with a red animal ``width`` of the frame wide walking right where ``present``."""
    w, h = size
    base = scene(seed, w, h)
    rng = np.random.default_rng(seed + 1)
    aw, ah = max(2, round(width * w)), max(2, round(width * w * 0.6))
    frames, boxes = [], []
    for i, here in enumerate(present):
        pixels = np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
        box = None
        if here:
            x, y = round(0.1 * w + i * 0.12 * w) % (w - aw), min(round(0.6 * h), h - ah)
            pixels[y : y + ah, x : x + aw] = RED
            box = Box(x / w, y / h, aw / w, ah / h)
        frames.append(Frame(i, 0.5 * i, pixels, f"{i:03d}.jpg"))
        boxes.append(box)
    return frames, boxes


class Camera:
    def __init__(self, frames: Sequence[Frame]) -> None:
        self.frames, self.read = list(frames), 0

    def burst(self) -> Iterator[Frame]:
        for f in self.frames:
            self.read += 1
            yield f


K2 = Rule("k_of_n", k=2, threshold=0.5)


def test_a_far_animal_that_the_full_frame_misses_is_a_hit_from_its_motion_region():
    frames, boxes = burst([True] * 5)
    whole = classify_burst(frames, 5, detector(K2, regions=False)).verdict
    found = classify_burst(frames, 5, detector(K2)).verdict
    assert whole.decision == "miss" and found.decision == "hit"
    for f in found.frames:
        assert f.where.source == "motion"
        truth = boxes[f.index]
        assert truth is not None and Box(*f.where.box).iou(truth) >= 0.5


def test_records_carry_the_winning_region_per_frame_and_for_the_burst():
    frames, _ = burst([True] * 4)
    result = classify_burst(frames, 4, detector(replace(K2, early_exit=False)))
    meta = BurstMeta("b", "trap", 0.0, 0.5)
    r = replay_record(meta, "trap-1", result.verdict, result.names)
    assert r["region_source"] == "motion" and r["region_frame"] in range(4)
    assert r["box"] == r["frames"][r["region_frame"]]["box"]
    for f in r["frames"]:
        x, y, w, h = f["box"]
        assert f["region_source"] == "motion" and 0 <= x < x + w <= 1 and 0 <= y < y + h <= 1
        assert f["regions"] >= 2 and f["region_reason"] is None


def test_the_full_frame_is_classified_first_and_stops_a_k_of_n_frame_once_it_passes():
    frames, _ = burst([True] * 3, width=0.8)  # a close animal: the full frame is enough
    det = detector(K2)
    v = classify_burst(frames, 3, det).verdict
    assert v.decision == "hit"
    assert all(f.where.source == "full" and f.where.regions == 1 for f in v.frames)
    assert all(f.where.reason is None for f in v.frames)  # settled whole: motion never ran


@settings(max_examples=40, deadline=None)
@given(
    present=st.lists(st.booleans(), min_size=1, max_size=6),
    seed=st.integers(0, 50),
    name=st.sampled_from(["k_of_n", "mean_top_k"]),
    k=st.integers(1, 4),
    threshold=st.sampled_from([0.3, 0.5, 0.8]),
)
def test_early_exit_with_regions_decides_exactly_as_the_full_burst(
    present, seed, name, k, threshold
):
    frames, _ = burst(present, seed=seed)
    rule = Rule(name, k, threshold)
    full = classify_burst(frames, len(frames), detector(replace(rule, early_exit=False))).verdict
    cam = Camera(frames)
    early = classify_burst(cam.burst(), len(frames), detector(rule)).verdict
    assert early.decision == full.decision
    assert early.frames_classified <= full.frames_classified
    ahead = max(early.frames_classified + 1, 3)  # motion's context: one frame ahead, two at first
    assert cam.read <= min(len(frames), ahead)
    n = early.frames_classified  # frames both runs scored: the same scores when not stopped
    if name == "mean_top_k":
        assert [f.target_score for f in early.frames] == [f.target_score for f in full.frames[:n]]


def test_regions_cost_at_most_the_full_frame_and_max_regions_invokes_per_frame():
    frames, _ = burst([True] * 5)
    det = detector(replace(K2, early_exit=False))
    v = classify_burst(frames, 5, det).verdict
    assert all(1 <= f.where.regions <= 1 + 2 for f in v.frames)
    assert det.classifier.calls == sum(f.where.regions for f in v.frames)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("one frame", "one frame"),
        ("mixed sizes", "sizes differ"),
        ("black", "flat frame"),
        ("tiny", "not larger than the model input"),
        ("shake", "shake"),
    ],
)
def test_bad_input_falls_back_with_the_reason_and_never_raises(case, reason):
    frames, _ = burst([True] * 4)
    if case == "one frame":
        frames = frames[:1]
    elif case == "mixed sizes":
        small, _ = burst([True], size=(200, 150))
        frames = [frames[0], Frame(1, 0.5, small[0].pixels, "001.jpg")]
    elif case == "black":
        frames[1] = Frame(1, 0.5, np.zeros_like(frames[1].pixels), "001.jpg")
    elif case == "tiny":
        frames = [Frame(i, 0.0, f.pixels[:12, :14].copy(), f.name) for i, f in enumerate(frames)]
    elif case == "shake":
        frames[1] = Frame(1, 0.5, np.roll(frames[1].pixels, (5, 7), axis=(0, 1)), "001.jpg")
    v = classify_burst(frames, len(frames), detector(replace(K2, early_exit=False))).verdict
    assert v.decision in ("hit", "miss") and v.error is None
    reasons = [f.where.reason or "" for f in v.frames]
    index = 1 if case in ("mixed sizes", "black", "shake") else 0
    assert reason in reasons[index], reasons
