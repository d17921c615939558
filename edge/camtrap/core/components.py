"""Motion cells to boxes: connected components, boxed tight, merged, sized, ranked. Pure.

The cells of a frame's motion (`core.motion`) are joined into 8-connected components over
their runs (the horizontal stretches of moving cells, a few per row: a union-find over runs
touching in the next row, no per-cell Python loop, no scipy), each boxed tight to its pixels
over the threshold, merged with its neighbours when they come close (the parts of one animal
split by a trunk or a grass blade), filtered by size and ordered by motion energy.

>>> cells = np.array([[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 1]], bool)
>>> labels, n = label(cells)
>>> n, bool(labels[1, 1] == labels[0, 0]), bool(labels[1, 3] == labels[2, 3] != labels[0, 0])
(2, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from camtrap.core.boxes import Box, Region, clipped_box, grown
from camtrap.core.motion import CELL, Motion, pooled

MAX_COMPONENTS = 24  # the most energetic components boxed and merged; the rest is noise


@dataclass(frozen=True, eq=False)
class Runs:
    """The horizontal runs of True cells, row by row, and the component of each (0..n-1)."""

    row: np.ndarray  # int, per run
    start: np.ndarray  # first column
    end: np.ndarray  # one past the last column
    comp: np.ndarray  # component index
    n: int  # components


def runs(cells: np.ndarray) -> Runs:
    """The runs of ``cells`` joined into 8-connected components: two runs in adjacent rows
    belong together when they overlap or touch at a corner."""
    h, w = cells.shape
    framed = np.zeros((h, w + 2), np.int8)  # a False column each side: every run has two edges
    framed[:, 1:-1] = cells
    edges = np.diff(framed, axis=1)
    row, start = np.nonzero(edges == 1)
    end = np.nonzero(edges == -1)[1]
    parent = list(range(len(row)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first = np.searchsorted(row, np.arange(h + 1)).tolist()
    s, e = start.tolist(), end.tolist()
    for r in range(h - 1):
        i, j, a_end, b_end = first[r], first[r + 1], first[r + 1], first[r + 2]
        while i < a_end and j < b_end:
            if s[j] <= e[i] and s[i] <= e[j]:
                parent[find(i)] = find(j)
            if e[i] < e[j]:
                i += 1
            else:
                j += 1
    roots = np.array([find(i) for i in range(len(row))], np.int64)
    _, comp = np.unique(roots, return_inverse=True)
    return Runs(row, start, end, comp.reshape(-1), int(comp.max(initial=-1)) + 1)


def label(cells: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of the True cells: labels 1..n (0 off the cells), and n."""
    found = runs(cells)
    out = np.zeros(cells.shape, np.int32)
    for r, a, b, c in zip(found.row, found.start, found.end, found.comp, strict=True):
        out[r, a:b] = c + 1
    return out, found.n


def motion_regions(
    moving: Motion,
    diff: np.ndarray,
    max_regions: int,
    min_box: float,
    max_box: float,
    margin: float,
) -> list[Region]:
    """At most ``max_regions`` motion boxes, the most energetic first: components boxed tight
    to their pixels, merged within ``margin``, kept between ``min_box`` and ``max_box``."""
    found = runs(moving.cells)
    if found.n == 0:
        return []
    per_cell = pooled(diff, np.float64)
    cumulative = np.zeros((per_cell.shape[0], per_cell.shape[1] + 1))
    np.cumsum(per_cell, axis=1, out=cumulative[:, 1:])
    run_energy = cumulative[found.row, found.end] - cumulative[found.row, found.start]
    energy = np.bincount(found.comp, run_energy, found.n)
    by = np.argsort(found.comp, kind="stable")
    firsts = np.searchsorted(found.comp[by], np.arange(found.n))
    top, bottom = (
        np.minimum.reduceat(found.row[by], firsts),
        np.maximum.reduceat(found.row[by], firsts),
    )
    left, right = (
        np.minimum.reduceat(found.start[by], firsts),
        np.maximum.reduceat(found.end[by], firsts),
    )
    boxes = []
    for k in np.argsort(-energy)[:MAX_COMPONENTS].tolist():
        cells = (int(top[k]), int(bottom[k]), int(left[k]), int(right[k]) - 1)
        boxes.append((_pixel_box(moving.over, *cells), float(energy[k])))
    kept = [(b, e) for b, e in _merge(boxes, margin) if _sized(b, min_box, max_box)]
    kept.sort(key=lambda be: -be[1])
    return [Region(b, "motion", e) for b, e in kept[:max_regions]]


def _pixel_box(over: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> Box:
    """The box of a component's cells (rows r0..r1, columns c0..c1), tightened to its pixels
    over the threshold (a cell is several thumbnail pixels: a far animal is a few cells)."""
    y0, y1, x0, x1 = r0 * CELL, (r1 + 1) * CELL, c0 * CELL, (c1 + 1) * CELL
    window = over[y0:y1, x0:x1]
    ys, xs = np.nonzero(window.any(axis=1))[0], np.nonzero(window.any(axis=0))[0]
    if ys.size and xs.size:  # a closed gap may hold no pixel over: keep the cells then
        y0, y1 = y0 + int(ys[0]), y0 + int(ys[-1]) + 1
        x0, x1 = x0 + int(xs[0]), x0 + int(xs[-1]) + 1
    th, tw = over.shape
    return clipped_box(x0 / tw, y0 / th, x1 / tw, y1 / th)


def _merge(boxes: list[tuple[Box, float]], margin: float) -> list[tuple[Box, float]]:
    """Boxes that come within ``margin`` of each other become their union, energies added,
    until none do."""
    out = list(boxes)
    near = [grown(b, margin) for b, _ in out]  # grown once, and again only when merged
    i = 0
    while i < len(out):
        j = next((j for j in range(i + 1, len(out)) if near[i].meets(near[j])), None)
        if j is None:
            i += 1
            continue
        out[i] = (out[i][0].union(out[j][0]), out[i][1] + out[j][1])
        near[i] = grown(out[i][0], margin)
        del out[j], near[j]
        i = 0  # the union may now reach a box it did not before
    return out


def _sized(box: Box, min_box: float, max_box: float) -> bool:
    too_small = box.w < min_box and box.h < min_box
    return not too_small and box.area <= max_box
