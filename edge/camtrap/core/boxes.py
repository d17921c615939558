"""Normalised boxes and the regions that carry them: the geometry the regions stage speaks. Pure.

A box is ``[x, y, w, h]`` in 0..1 with the origin top-left (the MegaDetector convention, what
Camtrap DP's ``bboxX/bboxY/bboxWidth/bboxHeight`` take), so it does not depend on the size of
the picture it was found in: motion runs on a small thumbnail, crops cut the full frame.

>>> a = Box(0.0, 0.0, 0.5, 0.5)
>>> round(a.iou(Box(0.25, 0.0, 0.5, 0.5)), 3), a.union(Box(0.5, 0.5, 0.5, 0.5)) == FULL
(0.333, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from camtrap.core.types import RegionSource


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


def grown(box: Box, margin: float) -> Box:
    """``box`` grown by ``margin`` of its size on every side, clipped to the frame."""
    mx, my = box.w * margin, box.h * margin
    return clipped_box(box.x - mx, box.y - my, box.x + box.w + mx, box.y + box.h + my)


@dataclass(frozen=True)
class Region:
    """A place to classify: its box, where the proposal came from, its motion energy."""

    box: Box
    source: RegionSource
    energy: float = 0.0
