"""The regions stage on synthetic bursts whose animal boxes are known.

A scene is smooth random texture (a real scene has structure everywhere, which is what makes
shake measurable); the animal is a textured patch walking across it. Each test states what a
deployed trap sees: a far animal, shake on a tree, an exposure jump, a one-frame burst, a burst
whose frames differ in size, a black frame.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from camtrap.core.crops import MARGIN, crop_rect, cut
from camtrap.core.regions import (
    FULL,
    Box,
    Region,
    RegionParams,
    label,
    propose,
    thumbnail,
    tiles,
)

W, H = 640, 480
PARAMS = RegionParams(max_regions=2)


def texture(rng: np.random.Generator, w: int, h: int, cells: int, lo: int, hi: int) -> np.ndarray:
    grid = rng.integers(lo, hi, (max(2, cells * h // w), cells, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC))


def walking_burst(
    n: int = 5, width: float = 0.15, seed: int = 0, size: tuple[int, int] = (W, H)
) -> tuple[list[np.ndarray], list[Box]]:
    """``n`` frames of a scene with an animal ``width`` of the frame wide walking right."""
    rng = np.random.default_rng(seed)
    w, h = size
    scene = texture(rng, w, h, 24, 40, 200)
    aw, ah = round(width * w), round(width * w * 0.6)
    animal = texture(rng, aw, ah, 6, 120, 255)
    frames, boxes = [], []
    y = round(0.55 * h)
    for i in range(n):
        x = round(0.05 * w + i * min(0.8 * aw, (0.9 * w - aw) / max(1, n - 1)))
        f = scene.copy()
        f[y : y + ah, x : x + aw] = animal
        noise = rng.normal(0, 2, f.shape)
        frames.append(np.clip(f + noise, 0, 255).astype(np.uint8))
        boxes.append(Box(x / w, y / h, aw / w, ah / h))
    return frames, boxes


def motion(frames: list[np.ndarray], index: int, params: RegionParams = PARAMS) -> list[Region]:
    p = propose([thumbnail(f) for f in frames], index, params)
    return [r for r in p.regions if r.source == "motion"]


@pytest.mark.parametrize("width", [0.05, 0.1, 0.2, 0.35])
def test_the_walking_animal_is_the_first_motion_region_in_every_frame(width):
    frames, truth = walking_burst(width=width, seed=int(width * 100))
    for i in range(len(frames)):
        found = motion(frames, i)
        assert found, f"frame {i}: no motion region"
        assert found[0].box.iou(truth[i]) >= 0.5, (i, found[0].box, truth[i])


def test_the_full_frame_comes_first_and_always():
    frames, _ = walking_burst()
    p = propose([thumbnail(f) for f in frames], 2, PARAMS)
    assert p.regions[0] == Region(FULL, "full") and p.reason is None


def test_two_frames_are_enough_to_find_the_animal():
    frames, truth = walking_burst(n=2, width=0.2)
    found = motion(frames, 1)
    assert any(r.box.iou(truth[1]) >= 0.5 for r in found)


def test_at_most_max_regions_ordered_by_motion_energy():
    rng = np.random.default_rng(5)
    scene = texture(rng, W, H, 24, 40, 200)
    frames = []
    for i in range(5):  # three animals of different size walking at different heights
        f = scene.copy()
        for k, size in enumerate((30, 60, 100)):
            x = 20 + i * size
            y = 40 + k * 140
            f[y : y + size // 2, x : x + size] = 255 - 40 * k
        frames.append(f)
    found = motion(frames, 2, RegionParams(max_regions=2))
    assert len(found) == 2
    assert found[0].energy >= found[1].energy
    assert found[0].box.w > found[1].box.w  # the biggest mover has the most energy


def test_a_static_scene_has_no_motion_regions_only_the_full_frame():
    rng = np.random.default_rng(1)
    scene = texture(rng, W, H, 24, 40, 200)
    frames = [np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8)] * 4
    p = propose([thumbnail(f) for f in frames], 1, PARAMS)
    assert [r.source for r in p.regions] == ["full"] and "no motion" in (p.reason or "")


def test_an_exposure_jump_does_not_make_the_whole_frame_a_region():
    frames, truth = walking_burst(width=0.15, seed=3)
    frames[2] = np.clip(frames[2].astype(np.float32) * 1.45, 0, 255).astype(np.uint8)
    frames[3] = (frames[3].astype(np.float32) * 0.6).astype(np.uint8)  # and a darker one
    for i in (2, 3):
        found = motion(frames, i)
        assert found and found[0].box.iou(truth[i]) >= 0.5, (i, found)
        assert all(r.box.area < 0.25 for r in found)


def test_camera_shake_is_aligned_and_the_animal_still_found():
    frames, truth = walking_burst(width=0.15, seed=4)
    shaken = np.roll(frames[2], (6, -9), axis=(0, 1))  # the tree swayed: everything moved
    frames[2] = shaken
    moved = truth[2]
    truth[2] = Box(moved.x - 9 / W, moved.y + 6 / H, moved.w, moved.h)
    p = propose([thumbnail(f) for f in frames], 2, PARAMS)
    assert p.reason is not None and "shake" in p.reason
    found = [r for r in p.regions if r.source == "motion"]
    assert found and found[0].box.iou(truth[2]) >= 0.5
    assert all(r.box.area < 0.25 for r in found)


def test_shake_beyond_alignment_or_everything_moving_falls_back_to_tiles():
    frames, _ = walking_burst(width=0.15, seed=6)
    frames[1] = frames[1][::-1, ::-1].copy()  # the camera swung round: every pixel changed
    p = propose([thumbnail(f) for f in frames], 1, PARAMS)
    sources = [r.source for r in p.regions]
    assert sources[0] == "full" and set(sources[1:]) == {"tiles"}
    assert p.reason is not None and "tiles" in p.reason


def test_a_one_frame_burst_gets_only_the_coarse_tiles_with_the_reason():
    frames, _ = walking_burst(n=1)
    fine = RegionParams(tile_scales=(0.3, 0.6))  # what a burst that shook would get
    p = propose([thumbnail(frames[0])], 0, fine)
    assert [r.source for r in p.regions] == ["full", "tiles", "tiles"]  # two squares on 4:3
    assert all(abs(r.box.h - 1) < 1e-9 for r in p.regions)
    assert p.reason is not None and p.reason.startswith("one frame")


def test_frames_of_another_size_are_not_compared():
    frames, _ = walking_burst(n=3)
    other, _ = walking_burst(n=1, size=(320, 240))
    p = propose([thumbnail(frames[0]), thumbnail(other[0])], 0, PARAMS)
    assert {r.source for r in p.regions} == {"full", "tiles"}
    assert len(p.regions) == 1 + 6  # a burst keeps the finer tiles (the rule asks k frames)
    assert "sizes differ" in (p.reason or "")


@pytest.mark.parametrize("value", [0, 255])
def test_an_all_black_or_saturated_frame_gets_the_full_frame_alone(value):
    frames, _ = walking_burst(n=3)
    frames[1] = np.full_like(frames[1], value)
    p = propose([thumbnail(f) for f in frames], 1, PARAMS)
    assert [r.source for r in p.regions] == ["full"] and "flat" in (p.reason or "")
    assert motion(frames, 0)  # the others still compare with each other


def test_greyscale_and_tiny_frames_do_not_raise():
    frames, truth = walking_burst(width=0.2)
    grey = [np.repeat(f.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2) for f in frames]
    assert motion(grey, 2)[0].box.iou(truth[2]) >= 0.5  # infrared night frames are grey
    tiny = [np.zeros((3, 5, 3), np.uint8) + i for i in range(3)]
    p = propose([thumbnail(f) for f in tiny], 0, PARAMS)
    assert p.regions[0].source == "full"


def test_tiles_cover_the_frame_and_overlap():
    regions = tiles(2028, 1520, (0.6,))
    assert len(regions) == 6 and all(r.source == "tiles" for r in regions)
    grid = np.zeros((152, 203), int)
    for r in regions:
        b = r.box
        assert abs(b.w * 2028 - b.h * 1520) < 2  # square in pixels
        grid[
            round(b.y * 152) : round((b.y + b.h) * 152), round(b.x * 203) : round((b.x + b.w) * 203)
        ] += 1
    assert grid.min() >= 1 and grid.max() >= 2


def test_components_are_8_connected():
    cells = np.array([[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 1]], bool)
    labels, n = label(cells)
    assert n == 2 and sorted(np.bincount(labels.ravel())[1:]) == [2, 2]


def test_boxes_validate_and_measure_overlap():
    with pytest.raises(ValueError):
        Box(0.8, 0.0, 0.5, 0.5)
    a, b = Box(0.0, 0.0, 0.5, 0.5), Box(0.25, 0.0, 0.5, 0.5)
    assert a.iou(b) == pytest.approx(1 / 3) and a.iou(Box(0.6, 0.6, 0.1, 0.1)) == 0


def test_params_are_checked():
    with pytest.raises(ValueError):
        RegionParams(max_regions=-1)
    with pytest.raises(ValueError):
        RegionParams(tile_scales=())
    with pytest.raises(ValueError):
        RegionParams(min_box=0.7, max_box=0.6)


# ---------------------------------------------------------------------------------------------
# Crops at full resolution


def test_a_crop_is_square_with_margin_and_inside_the_frame():
    left, top, right, bottom = crop_rect(Box(0.0, 0.8, 0.1, 0.2), (2028, 1520), (224, 224))
    assert right - left == bottom - top
    assert left == 0 and bottom == 1520  # moved inside, not padded
    assert right - left >= 0.2 * 1520 * (1 + 2 * MARGIN) - 1


def test_a_crop_larger_than_the_frame_is_centred_and_padded():
    left, top, right, bottom = crop_rect(Box(0.0, 0.0, 1.0, 1.0), (400, 100), (224, 224), 0.25)
    assert (right - left, bottom - top) == (600, 600) and left == -100 and top == -250


def test_cut_gives_model_input_from_the_full_resolution_region():
    frames, truth = walking_burst(width=0.1)
    frame = frames[1]
    image = Image.fromarray(frame)
    crop = cut(image, Region(truth[1], "motion"), (96, 96))
    assert crop.shape == (96, 96, 3) and crop.dtype == np.uint8
    centre = crop[36:60, 36:60].astype(float).mean()
    assert centre > frame.astype(float).mean()  # the bright animal fills the crop's centre
    full = cut(image, Region(FULL, "full"), (96, 96))
    assert full.shape == (96, 96, 3)
    tile = cut(image, tiles(W, H, (0.6,))[0], (96, 96))
    assert tile.shape == (96, 96, 3)


def test_a_non_square_model_input_keeps_its_aspect():
    left, top, right, bottom = crop_rect(Box(0.4, 0.4, 0.1, 0.1), (1000, 1000), (160, 80))
    assert (right - left) == 2 * (bottom - top)
