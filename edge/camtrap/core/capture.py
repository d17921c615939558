"""Capture model: how many frames of a burst contain an animal that walks past the trap.

A top view, the camera at the origin looking along +y. The PIR's detection zone and the
camera's view are sectors (a range, a horizontal angle, an aim); the camera's sector is cut
near and far by its vertical field of view at the mounting height and tilt (``camera_view``).
An animal walks a straight line at constant speed: it crosses the optical axis ``distance_m``
in front of the lens, heading ``heading_deg`` off the image plane (0 = straight across the
frame, +60 = across and away, -60 = across and towards the trap), left to right or right to
left. The animal is a point, its
body centre: "in a frame" means its centre is in the view, roughly "half of it or more".

The PIR fires when the animal enters its zone; the first frame comes ``latency_s`` later and
the others ``interval_s`` apart. Whether a frame holds the animal is then exact interval
arithmetic (``frames_in_view``), and the probability over a distribution of passes (distance,
heading, speed, each uniform) is a midpoint-rule integral on a fixed grid: deterministic, no
sampling, and exact in the limit of a fine grid.

    geometry = Geometry(pir=Sector(5.0, 94.0), camera=camera_view(...))
    paths = grid_paths(Passes((2, 4), (-60, 60), (0.8, 1.7)))
    est = estimate(crossings(geometry, paths), latency_s=13.5, interval_s=0.5, frames=5, k=2)
    est.p_at_least_k

Pure: no I/O, no clock. The figures and their sources live in ``hardware/capture.toml``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Interval = tuple[float, float]
_EPS = 1e-9  # seconds: a frame exactly on the edge of the view counts as in view


@dataclass(frozen=True)
class Sector:
    """A horizontal zone seen from the trap: ``fov_deg`` wide, from ``min_range_m`` to
    ``range_m``, its axis ``yaw_deg`` to the left (+) of the camera's optical axis."""

    range_m: float
    fov_deg: float
    yaw_deg: float = 0.0
    min_range_m: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.fov_deg <= 180:
            raise ValueError(f"fov_deg must be in (0, 180], got {self.fov_deg}")
        if not 0 <= self.min_range_m < self.range_m or not math.isfinite(self.range_m):
            raise ValueError(f"need 0 <= min_range_m < range_m < inf, got {self}")


@dataclass(frozen=True)
class Geometry:
    pir: Sector
    camera: Sector


@dataclass(frozen=True)
class Path:
    """One pass: where it crosses the optical axis, its heading, its speed, its weight; left to
    right across the frame, or mirrored (``leftward``: right to left, same heading sign)."""

    distance_m: float
    heading_deg: float
    speed_mps: float
    weight: float = 1.0
    leftward: bool = False

    def __post_init__(self) -> None:
        if self.speed_mps <= 0 or not -90 < self.heading_deg < 90 or self.weight < 0:
            raise ValueError(f"need speed > 0, -90 < heading < 90, weight >= 0: {self}")

    def velocity(self) -> tuple[float, float]:
        """(across the frame, along the optical axis), m/s; x grows to the camera's right."""
        h = math.radians(self.heading_deg)
        across = self.speed_mps * math.cos(h)
        return (-across if self.leftward else across, self.speed_mps * math.sin(h))

    def at(self, t: float) -> tuple[float, float]:
        """Position ``t`` seconds after the pass crosses the optical axis."""
        wx, wy = self.velocity()
        return (wx * t, self.distance_m + wy * t)


@dataclass(frozen=True)
class Passes:
    """Uniform ranges (low, high) of the passes: axis distance, heading, speed."""

    distance_m: tuple[float, float]
    heading_deg: tuple[float, float]
    speed_mps: tuple[float, float]


@dataclass(frozen=True)
class Crossing:
    """What a pass looks like to the trap: when the PIR fires (None: never) and when the
    animal is in the camera's view, seconds from the moment it crosses the optical axis."""

    trigger_s: float | None
    view: tuple[Interval, ...]
    weight: float


@dataclass(frozen=True)
class CaptureEstimate:
    latency_s: float
    interval_s: float
    frames: int
    k: int
    p_at_least_k: float  # among passes that trigger the PIR
    expected_frames: float  # among passes that trigger the PIR
    trigger_fraction: float  # share of all passes that trigger the PIR at all
    frame_distribution: tuple[float, ...]  # P(exactly j frames hold the animal), j = 0..frames


# -- geometry -----------------------------------------------------------------------------------


def camera_view(
    *,
    hfov_deg: float,
    vfov_deg: float,
    range_m: float,
    height_m: float,
    tilt_down_deg: float,
    target_height_m: float,
) -> Sector:
    """The camera's sector for a target whose centre is ``target_height_m`` above the ground:
    the vertical field of view at the mounting height and tilt limits how near (and, tilted
    down steeply, how far) that centre is in the frame."""
    near, far = vertical_ranges(height_m, tilt_down_deg, vfov_deg, target_height_m)
    far = min(far, range_m)
    if not near < far:
        raise ValueError(
            f"a target {target_height_m} m high is never in a camera {height_m} m high, "
            f"tilted {tilt_down_deg} deg down, vertical FOV {vfov_deg} deg, range {range_m} m"
        )
    return Sector(range_m=far, fov_deg=hfov_deg, min_range_m=near)


def vertical_ranges(
    height_m: float, tilt_down_deg: float, vfov_deg: float, target_height_m: float
) -> tuple[float, float]:
    """Ground distances (near, far) at which the target's centre is inside the vertical FOV."""
    dz = target_height_m - height_m
    low = math.radians(-tilt_down_deg - vfov_deg / 2)  # elevation of the frame's bottom edge
    high = math.radians(-tilt_down_deg + vfov_deg / 2)
    if dz == 0:
        return (0.0, math.inf) if low <= 0 <= high else (math.inf, math.inf)
    # the target's elevation atan(dz / r) runs monotonically from +-90 deg (r -> 0) to 0 (far)
    lim = math.pi / 2
    lo_e, hi_e = max(low, -lim), min(high, lim)
    if dz < 0:  # below the lens: elevation rises towards 0 with distance
        if lo_e >= 0 or hi_e < lo_e:
            return (math.inf, math.inf)
        near = 0.0 if lo_e <= -lim else dz / math.tan(lo_e)
        far = math.inf if hi_e >= 0 else dz / math.tan(hi_e)
    else:  # above the lens: elevation falls towards 0 with distance
        if hi_e <= 0 or hi_e < lo_e:
            return (math.inf, math.inf)
        near = 0.0 if hi_e >= lim else dz / math.tan(hi_e)
        far = math.inf if lo_e <= 0 else dz / math.tan(lo_e)
    return (near, far)


def sector_intervals(sector: Sector, path: Path) -> tuple[Interval, ...]:
    """When (seconds from the axis crossing) the path is inside the sector, as sorted
    disjoint intervals (at most two: a near limit can split one)."""
    px, py = 0.0, path.distance_m
    wx, wy = path.velocity()
    span = _inside_disk(px, py, wx, wy, sector.range_m)
    for nx, ny in _wedge_normals(sector):
        span = _intersect(span, _half_plane(px, py, wx, wy, nx, ny))
    if span is None:
        return ()
    if sector.min_range_m <= 0:
        return (span,)
    hole = _inside_disk(px, py, wx, wy, sector.min_range_m)
    return _minus(span, hole)


def _wedge_normals(sector: Sector) -> tuple[tuple[float, float], ...]:
    """Inward normals of the wedge's two edges (a wedge of <= 180 deg is convex)."""
    axis = math.radians(90 + sector.yaw_deg)  # the optical axis is +y
    half = math.radians(sector.fov_deg / 2)
    right, left = axis - half, axis + half
    # inside = left of the right edge and right of the left edge
    return ((-math.sin(right), math.cos(right)), (math.sin(left), -math.cos(left)))


def _half_plane(
    px: float, py: float, wx: float, wy: float, nx: float, ny: float
) -> Interval | None:
    """Times when n . (p + t w) >= 0."""
    c, s = nx * px + ny * py, nx * wx + ny * wy
    if abs(s) < 1e-15:
        return (-math.inf, math.inf) if c >= 0 else None
    t = -c / s
    return (t, math.inf) if s > 0 else (-math.inf, t)


def _inside_disk(px: float, py: float, wx: float, wy: float, r: float) -> Interval | None:
    """Times when |p + t w| <= r."""
    a, b, c = wx * wx + wy * wy, 2 * (px * wx + py * wy), px * px + py * py - r * r
    disc = b * b - 4 * a * c
    if disc < 0:
        return None
    root = math.sqrt(disc)
    return ((-b - root) / (2 * a), (-b + root) / (2 * a))


def _intersect(a: Interval | None, b: Interval | None) -> Interval | None:
    if a is None or b is None:
        return None
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None


def _minus(span: Interval, hole: Interval | None) -> tuple[Interval, ...]:
    if hole is None or hole[1] <= span[0] or hole[0] >= span[1]:
        return (span,)
    parts = ((span[0], hole[0]), (hole[1], span[1]))
    return tuple(p for p in parts if p[1] > p[0])


# -- passes and frames --------------------------------------------------------------------------


def grid_paths(
    passes: Passes, n_distance: int = 16, n_heading: int = 16, n_speed: int = 16
) -> tuple[Path, ...]:
    """The passes as a midpoint-rule grid of equally weighted paths, in both directions (a PIR
    aimed off the optical axis sees the two directions differently)."""
    return tuple(
        Path(d, h, v, leftward=left)
        for d in _midpoints(passes.distance_m, n_distance)
        for h in _midpoints(passes.heading_deg, n_heading)
        for v in _midpoints(passes.speed_mps, n_speed)
        for left in (False, True)
    )


def _midpoints(span: tuple[float, float], n: int) -> list[float]:
    lo, hi = span
    if n < 1 or hi < lo:
        raise ValueError(f"need n >= 1 and low <= high, got {span}, n={n}")
    return [lo + (i + 0.5) * (hi - lo) / n for i in range(n)]


def crossings(geometry: Geometry, paths: Iterable[Path]) -> tuple[Crossing, ...]:
    """Trigger time and camera intervals of every path (independent of the burst timing)."""
    out = []
    for path in paths:
        zone = sector_intervals(geometry.pir, path)
        trigger = zone[0][0] if zone else None
        out.append(Crossing(trigger, sector_intervals(geometry.camera, path), path.weight))
    return tuple(out)


def frames_in_view(crossing: Crossing, latency_s: float, interval_s: float, frames: int) -> int:
    """How many of the burst's frames (at trigger + latency + i * interval) hold the animal."""
    if crossing.trigger_s is None:
        return 0
    start = crossing.trigger_s + latency_s
    count = 0
    for lo, hi in crossing.view:
        if interval_s <= 0:  # every frame at the same moment
            count += frames if lo - _EPS <= start <= hi + _EPS else 0
            continue
        first = max(0, math.ceil((lo - start) / interval_s - _EPS))
        last = min(frames - 1, math.floor((hi - start) / interval_s + _EPS))
        count += max(0, last - first + 1)
    return count


def estimate(
    crossings_: Sequence[Crossing], latency_s: float, interval_s: float, frames: int, k: int
) -> CaptureEstimate:
    """P(at least k of the burst's frames hold the animal), over the passes that trigger."""
    if latency_s < 0 or interval_s < 0 or frames < 1 or not 1 <= k <= frames:
        raise ValueError("need latency >= 0, interval >= 0, frames >= 1, 1 <= k <= frames")
    dist = [0.0] * (frames + 1)
    total = triggered = 0.0
    for c in crossings_:
        total += c.weight
        if c.trigger_s is None:
            continue
        triggered += c.weight
        dist[frames_in_view(c, latency_s, interval_s, frames)] += c.weight
    if triggered == 0:
        raise ValueError("no pass in the distribution ever enters the PIR's zone")
    share = [w / triggered for w in dist]
    return CaptureEstimate(
        latency_s=latency_s,
        interval_s=interval_s,
        frames=frames,
        k=k,
        p_at_least_k=sum(share[k:]),
        expected_frames=sum(j * p for j, p in enumerate(share)),
        trigger_fraction=triggered / total,
        frame_distribution=tuple(share),
    )


def curve(
    crossings_: Sequence[Crossing],
    latencies_s: Iterable[float],
    interval_s: float,
    frames: int,
    k: int,
) -> list[float]:
    """P(at least k frames) at each latency (for the plot)."""
    return [estimate(crossings_, t, interval_s, frames, k).p_at_least_k for t in latencies_s]
