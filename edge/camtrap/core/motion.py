"""Motion in a burst: where a frame differs from the burst's own background. Pure.

Every frame is reduced once to a small grey thumbnail (`thumbnail`: a whole-factor box
reduction, which also averages the sensor noise away), normalised to one brightness level (auto
exposure, an IR flash, a passing cloud scale a whole frame). A frame is compared with the other
frames of its burst (`compare`): a global shift is undone first when the camera shook on its
tree (cross- and phase correlation, accepted only when it makes most of the frame match), and a
pixel is foreground where it differs from *every* other frame (the background is whatever
another frame shows there). The noise-adaptive threshold (`motion_of`) pools the pixels over it
into cells, cleaned by a small opening and closing. Boxes are `core.components`' job.

Everything here works on arrays of a few thousand pixels: the whole stage costs a fraction of
one classifier invoke, whatever the frame size.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

MOTION_WIDTH = 160  # thumbnail width: a 5 %-wide animal is still 8 pixels, 2 cells
LEVEL = 100.0  # every thumbnail is scaled so its median grey is this (brightness normalised)
CELL = 4  # thumbnail pixels per motion cell side
MIN_DIFF = 10.0  # the smallest difference (on the LEVEL scale) that counts as motion
NOISE_SIGMAS = 6.0  # robust deviations of the difference above its median
CELL_FILL = 0.25  # share of a cell's pixels over the threshold for the cell to be moving
FLAT_STD = 2.0  # a thumbnail this flat (grey levels) is all black, saturated or a lens cap
MAX_SHIFT = 0.2  # a global shift beyond this share of the width is not aligned (tiles)
STILL = 3.0  # median difference (LEVEL scale) of frames that match: sensor noise, no shake
SHIFT_GAIN = 0.6  # a shift is the camera's when it cuts the median difference to this share
ZONES = 3  # ... in most of the 3 x 3 parts of the frame (not only where a big animal walked)


@dataclass(frozen=True, eq=False)
class Thumb:
    """A frame reduced for motion: grey, brightness-normalised, with its source frame's size."""

    grey: np.ndarray  # h x w float32, median LEVEL (unless flat)
    frame_size: tuple[int, int]  # (width, height) of the frame it was made from
    flat: bool  # all black, saturated or featureless: nothing to compare
    _moves: dict[int, tuple[Thumb, tuple[int, int]]] = field(
        default_factory=dict, init=False, repr=False
    )

    @functools.cached_property
    def spectrum(self) -> np.ndarray:
        """The 2-D Fourier transform (mean removed, Hann window) of the thumbnail reduced 2x
        (a quarter of the cost; the peak is refined below a pixel), for correlation."""
        g = self.grey  # sides are multiples of CELL: even
        half = g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2]
        half -= half.mean()
        half *= _hann(*half.shape)
        return np.fft.rfft2(half)

    def moved_from(self, ref: Thumb) -> tuple[int, int]:
        """The global shift (dy, dx) that moves ``ref`` onto this frame (the camera moved),
        measured once per frame: every frame of a burst is measured against the same reference,
        and two frames' shift is the difference of theirs."""
        if ref is self:
            return 0, 0
        got = self._moves.get(id(ref))
        if got is None or got[0] is not ref:
            got = self._moves[id(ref)] = (ref, global_shift(self, ref))
        return got[1]


@functools.lru_cache(maxsize=8)
def _hann(h: int, w: int) -> np.ndarray:
    """The 2-D Hann window (made once per thumbnail size): correlation sees no frame edge."""
    return np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)


def reduced(image: Image.Image, side: int) -> Image.Image:
    """``image`` box-reduced by the largest whole factor that keeps both sides at least ``side``
    (itself if none does): one cheap reduction that the motion thumbnail and the full frame's
    model input are both made from, as replay's JPEG decoding at a smaller scale would."""
    factor = min(image.size) // max(side, 1)
    return image.reduce(factor) if factor > 1 else image


def thumbnail(
    frame: np.ndarray | Image.Image,
    width: int = MOTION_WIDTH,
    frame_size: tuple[int, int] | None = None,
) -> Thumb:
    """The motion thumbnail (luminance) of an H x W x 3 uint8 frame (an array, or a Pillow
    image: the frame, or `reduced` from it, then ``frame_size`` is the frame's), ``width``
    wide, never enlarged.

    Its sides are multiples of `CELL`; a frame smaller than one cell gives a flat thumbnail.
    """
    img = frame if isinstance(frame, Image.Image) else Image.fromarray(frame)
    w, h = frame_size or img.size
    tw = max(CELL, min(width, w) // CELL * CELL)
    th = max(CELL, round(tw * h / w) // CELL * CELL)
    factor = max(1, min(img.width // tw, img.height // th))
    small = (img.reduce(factor) if factor > 1 else img).convert("L")
    if small.size != (tw, th):
        small = small.resize((tw, th), Image.Resampling.BOX)
    grey = np.asarray(small)
    median, std = _median_std(grey)
    flat = std < FLAT_STD or w < CELL * 4 or h < CELL * 4
    scale = 1.0 if flat else LEVEL / max(median, 1.0)
    return Thumb(np.multiply(grey, scale, dtype=np.float32), (w, h), flat)


def _median_std(grey: np.ndarray) -> tuple[float, float]:
    """The median and standard deviation of a uint8 picture, from its histogram (a fraction
    of the cost of sorting it)."""
    hist = np.bincount(grey.ravel(), minlength=256)
    levels = np.arange(256, dtype=np.float64)
    n = grey.size
    mean = float(hist @ levels) / n
    var = max(float(hist @ (levels * levels)) / n - mean * mean, 0.0)
    median = float(np.searchsorted(np.cumsum(hist), (n + 1) / 2))
    return median, math.sqrt(var)


# ---------------------------------------------------------------------------------------------
# Comparing a frame with the rest of its burst


@dataclass(frozen=True, eq=False)
class Comparison:
    """How far each pixel of a frame is from the burst's background, and where that is known."""

    diff: np.ndarray  # h x w float32, 0 where not compared
    valid: np.ndarray | None  # h x w bool where an aligned frame left a border; None: everywhere
    shift: int  # the largest global shift (thumbnail pixels) undone to compare


def compare(target: Thumb, others: Sequence[Thumb], ref: Thumb) -> Comparison | str:
    """The difference of ``target`` to the closest of the ``others`` at every pixel, after
    undoing camera shake (shifts measured against ``ref``, the burst's first comparable frame);
    or why it cannot be compared (a shift beyond `MAX_SHIFT`).

    A pixel is foreground only where the target differs from every other frame. This is never
    more than the difference to the per-pixel median of the others (which lies between two of
    their values), and it has no ghosts: a big, slow animal covers some pixels in most frames,
    where the median is fur and the target's bare ground would light up as a second animal;
    the one frame that shows the ground there too keeps it background."""
    h, w = target.grey.shape
    ty, tx = target.moved_from(ref)
    diffs = np.empty((len(others), h, w), np.float32)
    largest = 0
    for j, other in enumerate(others):
        oy, ox = other.moved_from(ref)
        dy, dx = ty - oy, tx - ox
        if abs(dx) > MAX_SHIFT * w or abs(dy) > MAX_SHIFT * h:
            return f"camera shake: frames shifted {abs(dx)}, {abs(dy)} px of {w}: tiles"
        moved = other.grey if (dy, dx) == (0, 0) else _shifted(other.grey, dy, dx)
        np.subtract(moved, target.grey, out=diffs[j])
        largest = max(largest, abs(dy), abs(dx))
    np.abs(diffs, out=diffs)
    if largest == 0:
        return Comparison(diffs.min(axis=0), None, 0)
    valid = np.asarray(~np.isnan(diffs).any(axis=0))  # inside the border every frame covers
    closest = np.where(valid, diffs.min(axis=0), 0.0).astype(np.float32)
    return Comparison(closest, valid, largest)


def correlation_peaks(a: Thumb, b: Thumb) -> set[tuple[int, int]]:
    """Candidate shifts (dy, dx) of ``b`` onto ``a``, in thumbnail pixels: the peak of the plain
    cross-correlation (led by the scene's large structures) and of the phase correlation
    (sharp, but it can lock onto a textured animal instead of the scene)."""
    cross = a.spectrum * np.conj(b.spectrum)
    phase = cross / np.maximum(np.abs(cross), 1e-9)
    h, w = a.grey.shape[0] // 2, a.grey.shape[1] // 2
    return {_peak(np.fft.irfft2(c, s=(h, w))) for c in (cross, phase)}


def _peak(corr: np.ndarray) -> tuple[int, int]:
    """The correlation's peak as a shift at twice its resolution (the full thumbnail), placed
    between samples by a parabola through the peak and its two neighbours on each axis."""
    h, w = corr.shape
    py, px = divmod(int(np.argmax(corr)), w)
    if (py, px) == (0, 0):  # the scene moved by less than a thumbnail pixel: nothing to undo
        return 0, 0
    top = float(corr[py, px])
    fy = py + _vertex(float(corr[(py - 1) % h, px]), top, float(corr[(py + 1) % h, px]))
    fx = px + _vertex(float(corr[py, (px - 1) % w]), top, float(corr[py, (px + 1) % w]))
    fy, fx = (fy - h if fy > h / 2 else fy), (fx - w if fx > w / 2 else fx)
    return round(2 * fy), round(2 * fx)


def _vertex(before: float, top: float, after: float) -> float:
    """Where a parabola through three samples one apart peaks, from the middle one (-0.5..0.5)."""
    curve = before - 2 * top + after
    return 0.0 if curve >= 0 else max(-0.5, min(0.5, 0.5 * (before - after) / curve))


def global_shift(a: Thumb, b: Thumb) -> tuple[int, int]:
    """The shift (dy, dx) that moves ``b`` onto ``a`` when the whole scene moved, else (0, 0).

    A candidate counts only when it makes most of the frame match: the median difference over
    the frame must fall well below the unshifted one, and not only where a big animal walked
    (`_across_the_scene`). Frames that correlate best unshifted cost no difference at all (the
    common case)."""
    candidates = correlation_peaks(a, b) - {(0, 0)}
    if not candidates:
        return 0, 0
    before = _median_difference(a.grey, b.grey)
    if before <= STILL:  # the frames already match: no camera movement to look for
        return 0, 0
    best, best_after = (0, 0), before
    for dy, dx in candidates:
        after = _median_difference(a.grey, _shifted(b.grey, dy, dx))
        if after < best_after:
            best, best_after = (dy, dx), after
    if best_after >= SHIFT_GAIN * before or not _across_the_scene(a.grey, b.grey, best):
        return 0, 0
    return best


def _across_the_scene(a: np.ndarray, b: np.ndarray, shift: tuple[int, int]) -> bool:
    """Whether ``shift`` matches ``b`` to ``a`` across the scene, judged in `ZONES` x `ZONES`
    parts of the frame: a part that the shift brings to match is for it; a textured part it
    makes worse, or leaves uncovered, is against it (a camera that shook moves every part; an
    animal half the frame wide moves only its own, and the ground it left already matched).
    Featureless parts (sky, both views matching) say nothing. Two thirds must be for it."""
    moved = _shifted(b, *shift)
    h, w = a.shape
    ys, xs = np.linspace(0, h, ZONES + 1).astype(int), np.linspace(0, w, ZONES + 1).astype(int)
    votes = []
    for y0, y1 in itertools.pairwise(ys.tolist()):
        for x0, x1 in itertools.pairwise(xs.tolist()):
            before = _median_difference(a[y0:y1, x0:x1], b[y0:y1, x0:x1])
            after = _median_difference(a[y0:y1, x0:x1], moved[y0:y1, x0:x1])
            if before > STILL or after > STILL:
                votes.append(after < SHIFT_GAIN * before)
    return sum(votes) > 0 and 3 * sum(votes) >= 2 * len(votes)


def _median_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Median |a - b| over every 8th pixel where both are defined (b may hold NaN): an animal
    is a minority of any such sample."""
    d = np.abs(a[::2, ::4] - b[::2, ::4])
    d = d[~np.isnan(d)]
    return float(np.median(d)) if d.size else math.inf


def _shifted(grey: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``grey`` moved by (dy, dx); the uncovered border is NaN (not compared)."""
    out = np.full(grey.shape, np.nan, np.float32)
    h, w = grey.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = grey[ys, xs]
    return out


# ---------------------------------------------------------------------------------------------
# Threshold, cells, morphology


@dataclass(frozen=True, eq=False)
class Motion:
    """Where a frame moves: pixels over the threshold, the cleaned cells, the share that changed."""

    over: np.ndarray  # h x w bool, thumbnail pixels over the noise-adaptive threshold
    cells: np.ndarray  # h/CELL x w/CELL bool, after opening and closing
    changed: float  # share of compared pixels well over the smallest motion (2 x MIN_DIFF)


def motion_of(diff: np.ndarray, valid: np.ndarray | None = None) -> Motion:
    """The noise-adaptive threshold (median + `NOISE_SIGMAS` robust deviations of the difference
    itself, never under `MIN_DIFF`), pooled into cells, cleaned by a small opening and closing."""
    sample = diff[::2, ::4]  # every 8th pixel: the same median, 8x cheaper
    values = sample.ravel() if valid is None else sample[valid[::2, ::4]]
    h, w = diff.shape[0] // CELL, diff.shape[1] // CELL
    if values.size == 0:
        return Motion(np.zeros(diff.shape, bool), np.zeros((h, w), bool), 0.0)
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    threshold = max(MIN_DIFF, med + NOISE_SIGMAS * 1.4826 * mad)
    over = diff > threshold
    fill = pooled(over, np.int32) >= CELL_FILL * CELL * CELL
    changed = float(np.count_nonzero(values > 2 * MIN_DIFF)) / values.size
    return Motion(over, _close(_open(fill)), changed)


def pooled(a: np.ndarray, dtype: type) -> np.ndarray:
    """The sums of ``a`` over each `CELL` x `CELL` cell (a ragged edge is left out)."""
    h, w = a.shape[0] // CELL, a.shape[1] // CELL
    rows = a[: h * CELL, : w * CELL].reshape(h, CELL, w * CELL).sum(axis=1, dtype=dtype)
    return rows.reshape(h, w, CELL).sum(axis=2, dtype=dtype)  # one axis at a time: 3x faster


def _box3(cells: np.ndarray) -> np.ndarray:
    """How many of each cell's 3 x 3 neighbourhood (itself included) are set; outside the grid
    counts as unset. Two separable passes of shifted adds: no padding, no 9-way stack."""
    a = cells.astype(np.int8)
    rows = a.copy()
    rows[:, 1:] += a[:, :-1]
    rows[:, :-1] += a[:, 1:]
    out = rows.copy()
    out[1:] += rows[:-1]
    out[:-1] += rows[1:]
    return out


def _open(cells: np.ndarray) -> np.ndarray:
    """Drop cells without a moving neighbour (specks of noise, a leaf, a raindrop)."""
    return cells & (_box3(cells) >= 2)


def _close(cells: np.ndarray) -> np.ndarray:
    """Fill one-cell gaps, so an animal split by a grass blade or a leg stays one component."""
    return (_box3(_box3(cells) > 0) == 9) | cells
