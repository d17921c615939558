"""Crop geometry: a region of a full-resolution frame cut out as the model's input. Pure.

A motion box is grown by a margin (context around the animal: the classifier was trained on
whole animals, not on fur) and made the model's aspect ratio (square for almost every model), so
nothing is stretched; the crop is then moved inside the frame, or padded with black where it is
larger than the frame. The full frame keeps the model card's resize (``squash`` or ``crop``),
which is what the model was trained on.

>>> crop_rect(Box(0.45, 0.4, 0.1, 0.2), (1000, 500), (224, 224), margin=0.25)
(425, 175, 575, 325)
>>> crop_rect(Box(0.9, 0.0, 0.1, 0.5), (1000, 500), (224, 224), margin=0.25)
(625, 0, 1000, 375)
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from camtrap.core.preprocess import ResizeMode, centre_box
from camtrap.core.regions import Box, Region

MARGIN = 0.05  # context around a motion box, per side, as a share of its longer side
REDUCING_GAP = 1.0  # Pillow box-reduces by a whole factor first while the result stays >= the input
MIN_SIDE = 0.5  # a crop is at least this share of the model input per side (in frame pixels)


def crop_rect(
    box: Box, frame_size: tuple[int, int], input_size: tuple[int, int], margin: float = MARGIN
) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) in frame pixels: ``box`` with ``margin``, at the input's
    aspect ratio, inside the frame where it fits (it may reach outside only where it is larger
    than the frame: that part is padded)."""
    fw, fh = frame_size
    aspect = input_size[0] / input_size[1]
    bw, bh = box.w * fw, box.h * fh
    side = max(bw, bh) * (1 + 2 * margin)
    cw = max(side, bh * (1 + 2 * margin) * aspect, MIN_SIDE * input_size[0])
    ch = max(cw / aspect, MIN_SIDE * input_size[1])
    cw = ch * aspect
    cx, cy = (box.x + box.w / 2) * fw, (box.y + box.h / 2) * fh
    left = _inside(cx - cw / 2, cw, fw)
    top = _inside(cy - ch / 2, ch, fh)
    return (round(left), round(top), round(left + cw), round(top + ch))


def _inside(start: float, length: float, limit: float) -> float:
    """``start`` moved so [start, start + length] lies in [0, limit], or centred if too long."""
    if length >= limit:
        return (limit - length) / 2
    return min(max(start, 0.0), limit - length)


def cut(
    frame: Image.Image,
    region: Region,
    input_size: tuple[int, int],
    full_resize: ResizeMode = "squash",
    margin: float = MARGIN,
) -> np.ndarray:
    """The region of a frame as model input pixels (``input_size`` = w, h). The frame is a
    Pillow image, made once per frame: every region of it is cut from the same one."""
    w, h = frame.size
    if region.source == "full":
        img = (
            frame if full_resize == "squash" else frame.crop(centre_box(w, h, _aspect(input_size)))
        )
        return np.asarray(
            img.resize(input_size, Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP)
        )
    tile_margin = 0.0 if region.source == "tiles" else margin
    rect = crop_rect(region.box, (w, h), input_size, tile_margin)
    img = frame.crop(rect)  # Pillow pads outside the frame with black
    return np.asarray(img.resize(input_size, Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP))


def _aspect(size: tuple[int, int]) -> float:
    return size[0] / size[1]
