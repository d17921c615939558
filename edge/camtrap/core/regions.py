"""Regions of interest in a burst: where the animal is, before the classifier judges it. Pure.

A camera-trap animal usually fills 5-30 % of the frame width; squashed whole to a 224 px model
input it is a few pixels of fur. This stage proposes where to look, per frame, from the burst
itself (as MegaDetector detects before it classifies and Frigate runs its detector on motion):

* **full**: the whole frame, always, classified first (a close animal needs nothing else).
* **motion** (`core.motion`, `core.components`): every frame reduced to a small grey thumbnail,
  brightness-normalised, aligned when the camera shook, compared with the other frames of the
  burst; the pixels over a noise-adaptive threshold become cells, components, boxes, merged,
  sized and ordered by motion energy; at most ``max_regions`` per frame.
* **tiles**: overlapping square tiles, the fallback where motion says nothing usable (frames
  of different sizes, shake beyond the alignment range, most of the frame moving). The reason
  goes into the record.

A one-frame burst (a single photo, a camera set to stills) has no motion, and no second frame
under the burst rule to outvote a tile that mistook bark for a spotted coat: every tile is a
blind look that can only add false hits. It gets the full frame and the fewest, largest tiles
(`ONE_FRAME_SCALE`: squares of the short side), whatever ``tile_scales`` says; the finer tiles
stay for bursts, where ``k_of_n`` asks more than one frame to agree.

Boxes are normalised ``[x, y, w, h]`` with the origin top-left (`core.boxes`).

>>> import numpy as np
>>> frames = [np.full((96, 128, 3), 90, np.uint8) for _ in range(4)]
>>> for i, f in enumerate(frames):
...     f[40:60, 10 + 25 * i : 30 + 25 * i] = 220       # a bright animal walking right
>>> thumbs = [thumbnail(f, 128) for f in frames]
>>> p = propose(thumbs, 2, RegionParams(max_regions=2))
>>> [r.source for r in p.regions], p.reason
(['full', 'motion'], None)
>>> [round(v, 2) for v in p.regions[1].box.as_list()]
[0.47, 0.42, 0.16, 0.21]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from camtrap.core.boxes import FULL, Box, Region, clipped_box, grown
from camtrap.core.components import label, motion_regions
from camtrap.core.motion import MOTION_WIDTH, Comparison, Thumb, compare, motion_of, thumbnail
from camtrap.core.types import RegionSource

__all__ = [
    "FULL",
    "SOURCES",
    "Box",
    "Proposal",
    "Region",
    "RegionParams",
    "Thumb",
    "clipped_box",
    "grown",
    "label",
    "propose",
    "thumbnail",
    "tiles",
]

SOURCES: tuple[RegionSource, ...] = ("motion", "tiles", "full")
TILE_OVERLAP = 0.25
ONE_FRAME_SCALE = 1.0  # a one-frame burst's tiles: squares of the short side (2 on a 4:3 frame)


@dataclass(frozen=True)
class RegionParams:
    """How regions are proposed (the ``[regions]`` config, motion constants aside)."""

    max_regions: int = 2  # motion regions per frame, by energy (the full frame comes on top)
    motion_width: int = MOTION_WIDTH  # width of the motion thumbnails (pixels)
    working_width: int = 1280  # frames arrive at least this wide (replay decodes so), crops cut
    tile_scales: tuple[float, ...] = (0.6,)  # tile side / frame short side, for the fallback
    min_box: float = 0.03  # a motion box narrower and lower than this share of the frame: noise
    max_box: float = 0.6  # a motion box larger than this share of the frame area: the full frame
    max_moving: float = 0.4  # more of the frame moving than this: exposure jump, shake: tiles
    margin: float = 0.15  # motion boxes this close (share of their size) merge into one

    def __post_init__(self) -> None:
        if not 0 <= self.max_regions <= 16:
            raise ValueError(f"max_regions must be 0..16, got {self.max_regions}")
        if not 32 <= self.motion_width <= 1024:
            raise ValueError(f"motion_width must be 32..1024, got {self.motion_width}")
        if not self.tile_scales or not all(0.1 <= s <= 1.0 for s in self.tile_scales):
            raise ValueError(f"tile_scales must be in 0.1..1, got {list(self.tile_scales)}")
        if not 0 <= self.min_box < self.max_box <= 1:
            raise ValueError(
                f"want 0 <= min_box < max_box <= 1, got {self.min_box}, {self.max_box}"
            )


@dataclass(frozen=True)
class Proposal:
    """The regions of one frame, in the order to classify them, and why motion was not used."""

    regions: tuple[Region, ...]
    reason: str | None = None  # set when motion fell back to tiles or the full frame alone


def propose(thumbs: Sequence[Thumb], index: int, params: RegionParams) -> Proposal:
    """Regions for frame ``index`` of the burst, judged against the other ``thumbs``."""
    target = thumbs[index]
    full = Region(FULL, "full")
    if target.flat:
        return Proposal((full,), "flat frame (all black, saturated or featureless): full frame")
    group = [t for t in thumbs if _comparable(t, target)]  # the target too, in burst order
    others = [t for t in group if t is not target]
    if len(thumbs) == 1:  # a single photo: no motion, and no other frame to confirm a tile
        w, h = target.frame_size
        why = "one frame: no motion to compare, full frame and coarse tiles"
        return Proposal((full, *tiles(w, h, (ONE_FRAME_SCALE,))), why)
    if not others:
        why = "no comparable frame (sizes differ or flat): no motion to compare, tiles"
        return _tiled(target, params, why)
    seen = compare(target, others, group[0])
    if isinstance(seen, str):
        return _tiled(target, params, seen)
    return _from_motion(seen, target, params)


def _from_motion(seen: Comparison, target: Thumb, params: RegionParams) -> Proposal:
    full = Region(FULL, "full")
    moving = motion_of(seen.diff, seen.valid)
    share = max(float(moving.cells.mean()), moving.changed)
    if share > params.max_moving:
        why = f"{100 * share:.0f} % of the frame moving (exposure change or shake): tiles"
        return _tiled(target, params, why)
    regions = motion_regions(
        moving, seen.diff, params.max_regions, params.min_box, params.max_box, params.margin
    )
    note = f"camera shake: aligned a global shift of {seen.shift} px of {target.grey.shape[1]}"
    reason = note if seen.shift > 1 else (None if regions else "no motion: full frame")
    return Proposal((full, *regions), reason)


def _comparable(t: Thumb, target: Thumb) -> bool:
    return not t.flat and t.frame_size == target.frame_size and t.grey.shape == target.grey.shape


def _tiled(target: Thumb, params: RegionParams, reason: str) -> Proposal:
    w, h = target.frame_size
    return Proposal((Region(FULL, "full"), *tiles(w, h, params.tile_scales)), reason)


def tiles(width: int, height: int, scales: Sequence[float]) -> list[Region]:
    """Square tiles of side ``scale`` x the short side, overlapping by `TILE_OVERLAP`, covering
    the frame, for each scale (largest first)."""
    out: list[Region] = []
    short = min(width, height)
    for scale in sorted(set(scales), reverse=True):
        side = max(1, round(scale * short))
        for y in _starts(height, side):
            for x in _starts(width, side):
                box = clipped_box(x / width, y / height, (x + side) / width, (y + side) / height)
                out.append(Region(box, "tiles"))
    return out


def _starts(length: int, side: int) -> list[int]:
    if side >= length:
        return [0]
    n = math.ceil((length - side) / (side * (1 - TILE_OVERLAP))) + 1
    return [round(i * (length - side) / (n - 1)) for i in range(n)]
