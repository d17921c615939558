"""The picture that goes out with a hit: the best region of the best frame, as a small JPEG.

Pure: pixels or encoded bytes in memory in, JPEG bytes out (no file, no clock). A ranger decides
from this picture whether to walk to the trap, so it shows the animal (the frame's winning
region box, with some context around it) rather than a postage stamp of the whole scene, and it
fits a byte budget (default 30 KB) so it crosses an LTE-M or congested link in seconds.

Fitting: the crop is scaled so its long side is at most ``max_side``, then JPEG qualities are
tried from high to low; when even the lowest quality is over budget the picture is scaled down
by ``step`` and tried again, down to ``min_side``. Past that it gives up with a counted reason
(`ThumbnailError.reason`) instead of sending something unrecognisable or over budget.

    >>> import numpy as np
    >>> pixels = np.zeros((480, 640, 3), np.uint8)
    >>> t = build_thumbnail(pixels, box=(0.25, 0.25, 0.5, 0.5), spec=ThumbnailSpec(max_side=200))
    >>> (t.width, t.height, t.source, len(t.jpeg) <= 30_000)
    (200, 150, 'region', True)
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from camtrap.core.types import Frame, FrameScore, Verdict

Box = tuple[float, float, float, float]  # normalised [x, y, w, h], origin top-left (MegaDetector)
Source = Literal["region", "frame"]

REASONS = ("over_budget", "undecodable", "no_frame")  # ThumbnailError.reason values
_MIN_QUALITY = 20  # below this JPEG blocks hide a leopard's rosettes


class ThumbnailError(ValueError):
    """No picture within the budget; ``reason`` is one of `REASONS` (a telemetry counter)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"thumbnail {reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class ThumbnailSpec:
    """How big the hit picture may be. ``margin``: context added around the box, as a fraction
    of the box's size on each side (0.25 = a box half as wide again as the animal)."""

    max_bytes: int = 30_000
    max_side: int = 640
    min_side: int = 96
    margin: float = 0.25
    qualities: tuple[int, ...] = (85, 75, 65, 55, 45, 35, 25)
    step: float = 0.75

    def __post_init__(self) -> None:
        if self.max_bytes < 1000:
            raise ValueError(f"max_bytes must be >= 1000, got {self.max_bytes}")
        if not 16 <= self.min_side <= self.max_side:
            raise ValueError(
                f"want 16 <= min_side <= max_side, got {self.min_side}, {self.max_side}"
            )
        if not 0 <= self.margin <= 2:
            raise ValueError(f"margin must be within 0..2, got {self.margin}")
        if not self.qualities or any(not _MIN_QUALITY <= q <= 95 for q in self.qualities):
            raise ValueError(f"qualities must be within {_MIN_QUALITY}..95, got {self.qualities}")
        if not 0.3 <= self.step < 1:
            raise ValueError(f"step must be within 0.3..1 (exclusive), got {self.step}")


@dataclass(frozen=True)
class Thumbnail:
    jpeg: bytes
    width: int
    height: int
    quality: int
    source: Source  # "region": cut around the box; "frame": the whole frame
    frame_index: int = 0
    box: Box | None = None  # the crop actually shown, normalised to the frame

    def __post_init__(self) -> None:
        if not self.jpeg.startswith(b"\xff\xd8"):
            raise ValueError("thumbnail is not a JPEG")


def best_frame(verdict: Verdict) -> FrameScore | None:
    """The classified frame with the highest target score (the earliest on a tie), or None."""
    scored = [f for f in verdict.frames if f.error is None]
    if not scored:
        return None
    return max(scored, key=lambda f: (f.target_score, -f.index))


def frame_box(score: FrameScore) -> Box | None:
    """The winning region's box of a frame when the regions stage found one (a motion box or a
    tile), or None when the frame was judged whole."""
    # the regions stage records it as ``score.where`` (box, source); read it by name so this
    # module stays independent of when that stage is on
    where = getattr(score, "where", None)
    if where is None or getattr(where, "source", "full") == "full":
        return None
    return valid_box(where.box)


def valid_box(box: Sequence[float]) -> Box | None:
    """``box`` as a `Box` clipped to the frame, or None when it is not a usable box."""
    if len(box) != 4 or not all(np.isfinite(v) for v in box):
        return None
    x, y, w, h = (float(v) for v in box)
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(1.0, x + w), min(1.0, y + h)
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


def thumbnail_for(
    verdict: Verdict, frames: Sequence[Frame], spec: ThumbnailSpec = ThumbnailSpec()
) -> Thumbnail:
    """The hit picture of a burst: its best frame (the stored full-size image when there is
    one, else the inference pixels), cut around that frame's winning box when it has one."""
    best = best_frame(verdict)
    frame = next((f for f in frames if best is not None and f.index == best.index), None)
    if best is None or frame is None:
        raise ThumbnailError("no_frame", "the burst has no classified frame")
    box = frame_box(best)
    shown = _with_margin(box, spec.margin) if box is not None else (0.0, 0.0, 1.0, 1.0)
    image = _frame_image(frame, shown, spec.max_side)
    thumb = build_thumbnail(image, box, spec)
    return Thumbnail(
        thumb.jpeg, thumb.width, thumb.height, thumb.quality, thumb.source, frame.index, thumb.box
    )


def build_thumbnail(
    image: np.ndarray | Image.Image, box: Box | None = None, spec: ThumbnailSpec = ThumbnailSpec()
) -> Thumbnail:
    """A JPEG of ``box`` (with ``spec.margin`` around it) or of the whole image, within
    ``spec.max_bytes``; raises `ThumbnailError` ("over_budget") when nothing fits."""
    img = image if isinstance(image, Image.Image) else Image.fromarray(_rgb(image))
    img = img.convert("RGB")
    shown = _with_margin(box, spec.margin) if box is not None else None
    if shown is not None:
        img = img.crop(_pixels(shown, img.size))
    for side in _sides(max(img.size), spec):
        scaled = _scaled(img, side)
        for quality in spec.qualities:
            data = _encode(scaled, quality)
            if len(data) <= spec.max_bytes:
                source: Source = "frame" if shown is None else "region"
                return Thumbnail(data, *scaled.size, quality, source, box=shown)
    raise ThumbnailError(
        "over_budget",
        f"no JPEG of {img.size[0]}x{img.size[1]} fits {spec.max_bytes} bytes "
        f"down to {spec.min_side} px at quality {spec.qualities[-1]}",
    )


def _frame_image(frame: Frame, shown: Box, max_side: int) -> Image.Image:
    """The full-size stored image when it decodes, else the inference pixels.

    A JPEG is decoded at the smallest of 1/1, 1/2, 1/4, 1/8 scale (libjpeg's DCT scaling,
    Pillow's ``draft``) that still gives the ``shown`` part at ``max_side`` pixels: a whole
    2028 x 1520 frame shown at 640 px decodes at 1/2 scale, a quarter of the work on a Pi.
    """
    if frame.image:
        try:
            with Image.open(io.BytesIO(frame.image)) as img:
                w, h = img.size
                k = min(1.0, max_side / max(shown[2] * w, shown[3] * h, 1.0))
                img.draft("RGB", (math.ceil(w * k), math.ceil(h * k)))
                img.load()
                return img.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError):
            pass  # the pixels were good enough to classify: they are good enough to show
    return Image.fromarray(_rgb(frame.pixels))


def _rgb(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8 or pixels.size == 0:
        raise ThumbnailError("undecodable", f"want HxWx3 uint8 pixels, got {pixels.shape}")
    return pixels


def _with_margin(box: Box, margin: float) -> Box:
    x, y, w, h = box
    dx, dy = w * margin, h * margin
    x0, y0 = max(0.0, x - dx), max(0.0, y - dy)
    x1, y1 = min(1.0, x + w + dx), min(1.0, y + h + dy)
    return (x0, y0, x1 - x0, y1 - y0)


def _pixels(box: Box, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A normalised box as a pixel crop of at least 1 x 1 inside an image of ``size``."""
    w, h = size
    x0 = min(w - 1, int(box[0] * w))
    y0 = min(h - 1, int(box[1] * h))
    x1 = max(x0 + 1, min(w, round((box[0] + box[2]) * w)))
    y1 = max(y0 + 1, min(h, round((box[1] + box[3]) * h)))
    return (x0, y0, x1, y1)


def _sides(long_side: int, spec: ThumbnailSpec) -> list[int]:
    """Long sides to try: from min(image, max_side) down by ``step`` to ``min_side``."""
    side = min(long_side, spec.max_side)
    sides = [side]
    while side > spec.min_side:
        side = max(spec.min_side, int(side * spec.step))
        sides.append(side)
    return sides


def _scaled(img: Image.Image, long_side: int) -> Image.Image:
    w, h = img.size
    if max(w, h) <= long_side:
        return img
    k = long_side / max(w, h)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    return img.resize(size, Image.Resampling.LANCZOS)


def _encode(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True, progressive=False)
    return buf.getvalue()
