"""Regions of interest in a burst: where the animal is, before the classifier judges it. Pure.

A camera-trap animal usually fills 5-30 % of the frame width; squashed whole to a 224 px model
input it is a few pixels of fur. This stage proposes where to look, per frame, from the burst
itself (as MegaDetector detects before it classifies and Frigate runs its detector on motion):

* **motion**: every frame of the burst is reduced to a small grey thumbnail (`thumbnail`),
  normalised to one brightness level (auto exposure, an IR flash, a passing cloud scale a whole
  frame), aligned to the frame being judged (a global shift found by phase correlation: the
  camera shook), and the background is the per-pixel median of the aligned frames. Pixels whose
  difference passes a noise-adaptive threshold (median + several robust deviations of the
  difference itself) are pooled into cells, cleaned by a small opening and closing, joined into
  connected components, boxed with a margin, merged where the boxes overlap, filtered by size
  and ordered by motion energy; at most ``max_regions`` per frame.
* **tiles**: overlapping square tiles at a few scales, the fallback where motion says nothing
  usable (a one-frame burst, frames of different sizes, shake beyond the alignment range, most
  of the frame moving). The reason goes into the record.
* **full**: the whole frame, always, classified first (a close animal needs nothing else).

Boxes are normalised ``[x, y, w, h]`` with the origin top-left (the MegaDetector convention).

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

import functools
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from camtrap.core.types import RegionSource

SOURCES: tuple[RegionSource, ...] = ("motion", "tiles", "full")

LEVEL = 100.0  # every thumbnail is scaled so its median grey is this (brightness normalised)
CELL = 4  # thumbnail pixels per motion cell side
MIN_DIFF = 10.0  # the smallest difference (on the LEVEL scale) that counts as motion
NOISE_SIGMAS = 6.0  # robust deviations of the difference above its median
CELL_FILL = 0.25  # share of a cell's pixels over the threshold for the cell to be moving
FLAT_STD = 2.0  # a thumbnail this flat (grey levels) is all black, saturated or a lens cap
MAX_SHIFT = 0.2  # a global shift beyond this share of the width is not aligned (tiles)
STILL = 3.0  # median difference (LEVEL scale) of frames that match: sensor noise, no shake
SHIFT_GAIN = 0.6  # a shift is the camera's when it cuts the median difference to this share
TILE_OVERLAP = 0.25


@dataclass(frozen=True)
class Box:
    """A normalised box: origin top-left, all four in 0..1, the box inside the frame."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        eps = 1e-9
        inside = (
            -eps <= self.x
            and -eps <= self.y
            and self.x + self.w <= 1 + eps
            and self.y + self.h <= 1 + eps
        )
        if not (self.w > 0 and self.h > 0 and inside):
            raise ValueError(f"box {self.as_list()} is not a box inside the frame")

    def as_list(self) -> list[float]:
        return [self.x, self.y, self.w, self.h]

    @property
    def area(self) -> float:
        return self.w * self.h

    def iou(self, other: Box) -> float:
        """Intersection over union (0 when the boxes do not meet)."""
        inter = _overlap(self.x, self.w, other.x, other.w) * _overlap(
            self.y, self.h, other.y, other.h
        )
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def union(self, other: Box) -> Box:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def meets(self, other: Box) -> bool:
        return (
            _overlap(self.x, self.w, other.x, other.w) > 0
            and _overlap(self.y, self.h, other.y, other.h) > 0
        )


FULL = Box(0.0, 0.0, 1.0, 1.0)


def _overlap(a: float, aw: float, b: float, bw: float) -> float:
    return max(0.0, min(a + aw, b + bw) - max(a, b))


def clipped_box(x0: float, y0: float, x1: float, y1: float) -> Box:
    """The box with these normalised corners, clipped to the frame."""
    x0, y0 = max(0.0, x0), max(0.0, y0)
    x1, y1 = min(1.0, x1), min(1.0, y1)
    return Box(x0, y0, max(x1 - x0, 1e-6), max(y1 - y0, 1e-6))


@dataclass(frozen=True)
class Region:
    """A place to classify: its box, where the proposal came from, its motion energy."""

    box: Box
    source: RegionSource
    energy: float = 0.0


@dataclass(frozen=True)
class RegionParams:
    """How regions are proposed (the ``[regions]`` config, motion constants aside)."""

    max_regions: int = 2  # motion regions per frame, by energy (the full frame comes on top)
    motion_width: int = 256  # width of the motion thumbnails (pixels)
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


@dataclass(frozen=True, eq=False)
class Thumb:
    """A frame reduced for motion: grey, brightness-normalised, with its source frame's size."""

    grey: np.ndarray  # h x w float32, median LEVEL (unless flat)
    frame_size: tuple[int, int]  # (width, height) of the frame it was made from
    flat: bool  # all black, saturated or featureless: nothing to compare

    @functools.cached_property
    def spectrum(self) -> np.ndarray:
        """Its 2-D Fourier transform (mean removed, Hann window), for correlation; made once."""
        h, w = self.grey.shape
        window = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
        return np.fft.rfft2((self.grey - self.grey.mean()) * window)


def thumbnail(pixels: np.ndarray, width: int = 256) -> Thumb:
    """The motion thumbnail (luminance) of an H x W x 3 uint8 frame, ``width`` wide (never
    enlarged).

    Its sides are multiples of `CELL`; a frame smaller than one cell gives a flat thumbnail.
    """
    h, w = pixels.shape[:2]
    tw = max(CELL, min(width, w) // CELL * CELL)
    th = max(CELL, round(tw * h / w) // CELL * CELL)
    img = Image.fromarray(pixels)
    if w >= 4 * tw:  # a whole-factor box reduction first: far cheaper on a full-size frame
        img = img.reduce(w // (2 * tw))
    grey = np.asarray(img.convert("L").resize((tw, th), Image.Resampling.BOX), np.float32)
    std = float(grey.std())
    level = float(np.median(grey))
    flat = std < FLAT_STD or w < CELL * 4 or h < CELL * 4
    if not flat:
        grey = grey * (LEVEL / max(level, 1.0))
    return Thumb(grey, (w, h), flat)


def propose(thumbs: Sequence[Thumb], index: int, params: RegionParams) -> Proposal:
    """Regions for frame ``index`` of the burst, judged against the other ``thumbs``."""
    target = thumbs[index]
    full = Region(FULL, "full")
    if target.flat:
        return Proposal((full,), "flat frame (all black, saturated or featureless): full frame")
    others = [t for i, t in enumerate(thumbs) if i != index and _comparable(t, target)]
    if not others:
        why = "one frame" if len(thumbs) == 1 else "no comparable frame (sizes differ or flat)"
        return _tiled(target, params, f"{why}: no motion to compare, tiles")
    aligned, shift_note = _align(target, others)
    if aligned is None:
        return _tiled(target, params, shift_note or "camera shake: tiles")
    diff, valid = _difference(target.grey, aligned)
    moving = motion_of(diff, valid)
    share = max(float(moving.cells.mean()), moving.changed)
    if share > params.max_moving:
        why = f"{100 * share:.0f} % of the frame moving (exposure change or shake): tiles"
        return _tiled(target, params, why)
    regions = _motion_regions(moving, diff, params)
    reason = shift_note if shift_note else (None if regions else "no motion: full frame")
    return Proposal((full, *regions), reason)


def _comparable(t: Thumb, target: Thumb) -> bool:
    return not t.flat and t.frame_size == target.frame_size and t.grey.shape == target.grey.shape


def _tiled(target: Thumb, params: RegionParams, reason: str) -> Proposal:
    w, h = target.frame_size
    return Proposal((Region(FULL, "full"), *tiles(w, h, params.tile_scales)), reason)


# ---------------------------------------------------------------------------------------------
# Alignment: a global shift between frames (the camera shook on its tree) by phase correlation


def correlation_peaks(a: Thumb, b: Thumb) -> list[tuple[int, int]]:
    """Candidate shifts (dy, dx) of ``b`` onto ``a``: the peak of the plain cross-correlation
    (led by the scene's large structures) and of the phase correlation (sharp, but it can lock
    onto a textured animal instead of the scene)."""
    cross = a.spectrum * np.conj(b.spectrum)
    phase = cross / np.maximum(np.abs(cross), 1e-9)
    h, w = a.grey.shape
    out = []
    for c in (cross, phase):
        dy, dx = divmod(int(np.argmax(np.fft.irfft2(c, s=(h, w)))), w)
        out.append(((dy - h if dy > h // 2 else dy), (dx - w if dx > w // 2 else dx)))
    return out


def global_shift(a: Thumb, b: Thumb) -> tuple[int, int]:
    """The shift (dy, dx) that moves ``b`` onto ``a`` when the whole scene moved, else (0, 0).

    A candidate counts only when it makes most of the frame match: the median difference over
    the frame (an animal is a minority of the pixels) must fall well below the unshifted one."""
    before = _median_difference(a.grey, b.grey)
    if before <= STILL:  # the frames already match: no camera movement to look for
        return 0, 0
    best, best_after = (0, 0), before
    for dy, dx in set(correlation_peaks(a, b)) - {(0, 0)}:
        after = _median_difference(a.grey, _shifted(b.grey, dy, dx))
        if after < best_after:
            best, best_after = (dy, dx), after
    return best if best_after < SHIFT_GAIN * before else (0, 0)


def _median_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Median |a - b| over every 4th pixel where both are defined (b may hold NaN)."""
    d = np.abs(a[::2, ::2] - b[::2, ::2])
    d = d[~np.isnan(d)]
    return float(np.median(d)) if d.size else math.inf


def _align(target: Thumb, others: Sequence[Thumb]) -> tuple[list[np.ndarray] | None, str | None]:
    """The other thumbnails shifted onto the target (NaN where they do not cover it)."""
    h, w = target.grey.shape
    out: list[np.ndarray] = []
    largest = 0
    for t in others:
        dy, dx = global_shift(target, t)
        largest = max(largest, abs(dy), abs(dx))
        if abs(dx) > MAX_SHIFT * w or abs(dy) > MAX_SHIFT * h:
            return None, f"camera shake: frames shifted {abs(dx)}, {abs(dy)} px of {w}: tiles"
        out.append(_shifted(t.grey, dy, dx) if (dy, dx) != (0, 0) else t.grey)
    note = f"camera shake: aligned a global shift of {largest} px of {w}" if largest > 1 else None
    return out, note


def _shifted(grey: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``grey`` moved by (dy, dx); the uncovered border is NaN (not compared)."""
    out = np.full(grey.shape, np.nan, np.float32)
    h, w = grey.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = grey[ys, xs]
    return out


# ---------------------------------------------------------------------------------------------
# Difference, threshold, cells, morphology


def _difference(target: np.ndarray, others: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """How far each target pixel is from the burst's background, and where that is defined.

    The background at a pixel is whatever another frame of the burst shows there: the
    difference is the one to the closest other frame, so a pixel is foreground only where the
    target differs from every other frame. This is never more than the difference to the
    per-pixel median of the other frames (which lies between two of their values), and it has
    no ghosts: a big,
    slow animal covers some pixels in most frames, where the median is fur and the target's bare
    ground would light up as a second animal; the one frame that shows the ground there too
    keeps it background."""
    stack = np.stack(others)
    valid = np.asarray(~np.isnan(stack).any(axis=0))
    if not valid.all():  # aligned frames leave a border uncovered: compare inside it only
        stack = np.where(valid, stack, target)
    closest = np.min(np.abs(stack - target), axis=0)
    return np.where(valid, closest, 0.0).astype(np.float32), valid


@dataclass(frozen=True, eq=False)
class Motion:
    """Where a frame moves: pixels over the threshold, the cleaned cells, the share that changed."""

    over: np.ndarray  # h x w bool, thumbnail pixels over the noise-adaptive threshold
    cells: np.ndarray  # h/CELL x w/CELL bool, after opening and closing
    changed: float  # share of compared pixels well over the smallest motion (2 x MIN_DIFF)


def motion_of(diff: np.ndarray, valid: np.ndarray) -> Motion:
    """The noise-adaptive threshold (median + `NOISE_SIGMAS` robust deviations of the difference
    itself, never under `MIN_DIFF`), pooled into cells, cleaned by a small opening and closing."""
    values = diff[::2, ::2][valid[::2, ::2]]  # every 4th pixel: the same median, 4x cheaper
    h, w = _cells_shape(diff)
    if values.size == 0:
        return Motion(np.zeros(diff.shape, bool), np.zeros((h, w), bool), 0.0)
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    threshold = max(MIN_DIFF, med + NOISE_SIGMAS * 1.4826 * mad)
    over = diff > threshold
    fill = over[: h * CELL, : w * CELL].reshape(h, CELL, w, CELL).mean(axis=(1, 3))
    changed = float(np.mean(values > 2 * MIN_DIFF))
    return Motion(over, _close(_open(fill >= CELL_FILL)), changed)


def _cells_shape(a: np.ndarray) -> tuple[int, int]:
    return a.shape[0] // CELL, a.shape[1] // CELL


def _neighbours(cells: np.ndarray) -> list[np.ndarray]:
    """The 3 x 3 neighbourhood of every cell as 9 shifted copies (outside the grid is False)."""
    padded = np.pad(cells, 1)
    h, w = cells.shape
    return [padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]


def _open(cells: np.ndarray) -> np.ndarray:
    """Drop cells without a moving neighbour (specks of noise, a leaf, a raindrop)."""
    count = np.sum(_neighbours(cells), axis=0) - cells
    return cells & (count >= 1)


def _close(cells: np.ndarray) -> np.ndarray:
    """Fill one-cell gaps, so an animal split by a grass blade or a leg stays one component."""
    dilated = np.any(_neighbours(cells), axis=0)
    return np.all(_neighbours(dilated), axis=0) | cells


# ---------------------------------------------------------------------------------------------
# Components and boxes


def components(cells: np.ndarray) -> list[list[tuple[int, int]]]:
    """8-connected components of the True cells, each as its (row, col) cells."""
    seen = np.zeros(cells.shape, bool)
    h, w = cells.shape
    out: list[list[tuple[int, int]]] = []
    for start in zip(*np.nonzero(cells), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        queue, comp = deque([(int(start[0]), int(start[1]))]), []
        while queue:
            r, c = queue.popleft()
            comp.append((r, c))
            for rr in range(max(0, r - 1), min(h, r + 2)):
                for cc in range(max(0, c - 1), min(w, c + 2)):
                    if cells[rr, cc] and not seen[rr, cc]:
                        seen[rr, cc] = True
                        queue.append((rr, cc))
        out.append(comp)
    return out


def _motion_regions(moving: Motion, diff: np.ndarray, params: RegionParams) -> list[Region]:
    h, w = moving.cells.shape
    energy = diff[: h * CELL, : w * CELL].reshape(h, CELL, w, CELL).sum(axis=(1, 3))
    boxes: list[tuple[Box, float]] = []
    for comp in components(moving.cells):
        box = _pixel_box(moving.over, comp)
        boxes.append((box, float(sum(energy[r, c] for r, c in comp))))
    merged = _merge(boxes, params.margin)
    kept = [(b, e) for b, e in merged if _sized(b, params)]
    kept.sort(key=lambda be: -be[1])
    return [Region(b, "motion", e) for b, e in kept[: params.max_regions]]


def _pixel_box(over: np.ndarray, comp: list[tuple[int, int]]) -> Box:
    """The box of a component's cells, tightened to its pixels over the threshold (a cell is
    4 thumbnail pixels: a far animal is only a few cells wide)."""
    rows = [r for r, _ in comp]
    cols = [c for _, c in comp]
    y0, y1 = min(rows) * CELL, (max(rows) + 1) * CELL
    x0, x1 = min(cols) * CELL, (max(cols) + 1) * CELL
    window = over[y0:y1, x0:x1]
    ys, xs = np.nonzero(window.any(axis=1))[0], np.nonzero(window.any(axis=0))[0]
    if ys.size and xs.size:  # a closed gap may hold no pixel over: keep the cells then
        y0, y1 = y0 + int(ys[0]), y0 + int(ys[-1]) + 1
        x0, x1 = x0 + int(xs[0]), x0 + int(xs[-1]) + 1
    th, tw = over.shape
    return clipped_box(x0 / tw, y0 / th, x1 / tw, y1 / th)


def grown(box: Box, margin: float) -> Box:
    """``box`` grown by ``margin`` of its size on every side, clipped to the frame."""
    mx, my = box.w * margin, box.h * margin
    return clipped_box(box.x - mx, box.y - my, box.x + box.w + mx, box.y + box.h + my)


def _merge(boxes: list[tuple[Box, float]], margin: float) -> list[tuple[Box, float]]:
    """Boxes that come within ``margin`` of each other (the parts of one animal split by a
    trunk or a grass blade) become their union, energies added, until none do."""
    out = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                if grown(out[i][0], margin).meets(grown(out[j][0], margin)):
                    out[i] = (out[i][0].union(out[j][0]), out[i][1] + out[j][1])
                    del out[j]
                    changed = True
                    break
            if changed:
                break
    return out


def _sized(box: Box, params: RegionParams) -> bool:
    too_small = box.w < params.min_box and box.h < params.min_box
    return not too_small and box.area <= params.max_box


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
