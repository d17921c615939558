"""The four trap designs side by side: days on the battery and leopards caught in the burst.

Battery life comes from the power model (``core/power.py``, ``hardware/power.toml``); the chance
that a walking leopard lands in at least ``k`` frames comes from the capture model
(``core/capture.py``) with the geometry, speeds and latencies of ``hardware/capture.toml``,
where every figure carries its source. The designs:

* ``gated-stock``: the MCU power-gates the Pi; a trigger waits for MCU wake, a stock boot and
  the camera start.
* ``gated-fast``: the same with the tuned boot that ``tools/deploy.py`` applies.
* ``always-on``: the Pi is up with the camera open; a trigger costs a PIR sample and a frame.
* ``scheduled``: the MCU keeps the Pi up and armed during the activity windows (always-on
  there) and power-gates it with the fast boot the rest of the day.

    params, _ = parse_capture_params(tomllib.loads(text), "hardware/capture.toml")
    table = compare(power_params, params, triggers_per_day=20, hit_fraction=0.05)
    table["gated-stock"].p_capture, table["gated-stock"].life_days
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from camtrap.core import capture, power
from camtrap.errors import ConfigError
from trapfw import schedule

DESIGNS = ("gated-stock", "gated-fast", "always-on", "scheduled")
LABELS = {
    "gated-stock": "power-gated, stock boot",
    "gated-fast": "power-gated, fast boot",
    "always-on": "always-on",
    "scheduled": "activity schedule + fast boot",
}

# field -> (section.key, lower, upper); a string figure has bounds None
_KEYS: dict[str, tuple[str, float | None, float | None]] = {
    "pir_range_m": ("pir.range_m", 0.1, 100),
    "pir_fov_deg": ("pir.fov_deg", 1, 180),
    "pir_yaw_deg": ("pir.yaw_deg", -90, 90),
    "camera_hfov_deg": ("camera.hfov_deg", 1, 180),
    "camera_vfov_deg": ("camera.vfov_deg", 1, 179),
    "camera_range_m": ("camera.range_m", 0.1, 100),
    "camera_height_m": ("camera.height_m", 0, 10),
    "camera_tilt_down_deg": ("camera.tilt_down_deg", -45, 89),
    "animal_height_m": ("animal.centre_height_m", 0, 3),
    "walk_min_mps": ("animal.walk_min_mps", 0.01, 20),
    "walk_max_mps": ("animal.walk_max_mps", 0.01, 20),
    "trot_min_mps": ("animal.trot_min_mps", 0.01, 30),
    "trot_max_mps": ("animal.trot_max_mps", 0.01, 30),
    "path_min_m": ("paths.distance_min_m", 0.1, 100),
    "path_max_m": ("paths.distance_max_m", 0.1, 100),
    "heading_max_deg": ("paths.heading_max_deg", 0, 89),
    "mcu_wake_s": ("latency.mcu_wake_s", 0, 60),
    "pi_boot_fast_s": ("latency.pi_boot_fast_s", 0, 600),
    "pir_sample_s": ("latency.pir_sample_s", 0, 10),
    "first_frame_s": ("latency.first_frame_s", 0, 10),
    "link_s": ("latency.link_s", 0, 10),
    "windows": ("schedule.windows", None, None),
    "activity_in_windows": ("schedule.activity_in_windows", 0, 1),
    "leopard_passes_per_day": ("survey.leopard_passes_per_day", 0, 100),
}


@dataclass(frozen=True)
class CaptureParams:
    """Every figure of ``hardware/capture.toml``; units in the names."""

    pir_range_m: float
    pir_fov_deg: float
    pir_yaw_deg: float
    camera_hfov_deg: float
    camera_vfov_deg: float
    camera_range_m: float
    camera_height_m: float
    camera_tilt_down_deg: float
    animal_height_m: float
    walk_min_mps: float
    walk_max_mps: float
    trot_min_mps: float
    trot_max_mps: float
    path_min_m: float
    path_max_m: float
    heading_max_deg: float
    mcu_wake_s: float
    pi_boot_fast_s: float
    pir_sample_s: float
    first_frame_s: float
    link_s: float
    windows: str
    activity_in_windows: float
    leopard_passes_per_day: float

    def geometry(self) -> capture.Geometry:
        cam = capture.camera_view(
            hfov_deg=self.camera_hfov_deg,
            vfov_deg=self.camera_vfov_deg,
            range_m=self.camera_range_m,
            height_m=self.camera_height_m,
            tilt_down_deg=self.camera_tilt_down_deg,
            target_height_m=self.animal_height_m,
        )
        return capture.Geometry(
            capture.Sector(self.pir_range_m, self.pir_fov_deg, self.pir_yaw_deg), cam
        )

    def passes(self, gait: str) -> capture.Passes:
        speeds = {
            "walk": (self.walk_min_mps, self.walk_max_mps),
            "trot": (self.trot_min_mps, self.trot_max_mps),
        }[gait]
        return capture.Passes(
            distance_m=(self.path_min_m, self.path_max_m),
            heading_deg=(-self.heading_max_deg, self.heading_max_deg),
            speed_mps=speeds,
        )


@dataclass(frozen=True)
class DesignResult:
    design: str
    latency_s: float  # trigger to first frame (power-gated part, for the schedule)
    latency_in_window_s: float | None  # the schedule's latency inside its windows
    day_j: float
    life_days: float
    p_capture: float  # P(>= k frames hold a walking leopard), over the passes that trigger
    p_capture_trot: float
    leopards_per_pack: float  # walking leopards caught in >= k frames before the pack is flat


# -- parsing ------------------------------------------------------------------------------------


def parse_capture_params(raw: dict[str, Any], source: str) -> tuple[CaptureParams, dict[str, str]]:
    """Validate the capture figures (``{value, unit, source}`` each); returns them and sources."""
    values, sources = power.read_figures(raw, source, _KEYS)
    params = CaptureParams(**values)
    _check_consistent(params, source)
    return params, sources


def _check_consistent(p: CaptureParams, source: str) -> None:
    for lo, hi, key in (
        (p.walk_min_mps, p.walk_max_mps, "animal.walk_max_mps"),
        (p.trot_min_mps, p.trot_max_mps, "animal.trot_max_mps"),
        (p.path_min_m, p.path_max_m, "paths.distance_max_m"),
    ):
        if hi < lo:
            raise ConfigError(source, f"{key}.value", f"must be >= its minimum {lo:g}")
    try:
        schedule.parse_windows(p.windows)
    except schedule.ScheduleError as e:
        raise ConfigError(source, "schedule.windows.value", str(e)) from None
    try:
        p.geometry()
    except ValueError as e:
        raise ConfigError(source, "camera", str(e)) from None


# -- the designs --------------------------------------------------------------------------------


def latency_s(design: str, pw: power.PowerParams, cp: CaptureParams) -> float:
    """Trigger to first frame; for the schedule, outside its windows."""
    if design == "gated-stock":
        return cp.mcu_wake_s + pw.pi_boot_s + pw.camera_start_s
    if design in ("gated-fast", "scheduled"):
        return cp.mcu_wake_s + cp.pi_boot_fast_s + pw.camera_start_s
    if design == "always-on":
        return cp.pir_sample_s + cp.first_frame_s
    raise ValueError(f"unknown design {design!r}")


def in_window_latency_s(cp: CaptureParams) -> float:
    """Inside a window the MCU is awake and the Pi's camera open: a TRIGGER frame and a frame."""
    return cp.link_s + cp.first_frame_s


def scheduled_day_j(
    pw: power.PowerParams, cp: CaptureParams, triggers_per_day: float, hit_fraction: float
) -> float:
    """A day of the schedule: the Pi up (idle, MCU awake) inside the windows, one fast boot and
    halt per window, the gated sleep floor outside; triggers spread evenly over the day."""
    windows = schedule.parse_windows(cp.windows)
    share = schedule.minutes_per_day(windows) / schedule.DAY_MIN
    fast = power.with_overrides(pw, pi_boot_s=cp.pi_boot_fast_s)
    up_s = share * power.SECONDS_PER_DAY
    up_j = up_s * (pw.pi_idle_w / pw.converter_efficiency + pw.mcu_active_ma / 1000 * pw.battery_v)
    up_j += share * _ua_day_j(pw.pir_ua + pw.modem_sleep_ua + pw.divider_ua, pw)
    floor_ua = pw.mcu_sleep_ua + pw.pir_ua + pw.modem_sleep_ua + pw.load_switch_ua + pw.divider_ua
    down_j = (1 - share) * _ua_day_j(floor_ua, pw)
    gated = power.power_gated_event_j(fast, hit_fraction)
    mcu_edge_j = pw.mcu_active_ma / 1000 * pw.battery_v * (fast.pi_boot_s + fast.pi_shutdown_s)
    window_edges_j = len(windows) * (gated["boot"] + gated["shutdown"] + mcu_edge_j)
    events_j = triggers_per_day * (
        share * sum(power.always_on_event_j(pw, hit_fraction).values())
        + (1 - share) * sum(gated.values())
    )
    return up_j + down_j + window_edges_j + events_j + pw.heartbeats_per_day * power.uplink_j(pw)


def _ua_day_j(microamps: float, p: power.PowerParams) -> float:
    return microamps * 1e-6 * p.battery_v * power.SECONDS_PER_DAY


def day_j(
    design: str,
    pw: power.PowerParams,
    cp: CaptureParams,
    triggers_per_day: float,
    hit_fraction: float,
) -> float:
    if design == "gated-stock":
        return power.design_budget(pw, "power-gated", triggers_per_day, hit_fraction).day_j
    if design == "gated-fast":
        fast = power.with_overrides(pw, pi_boot_s=cp.pi_boot_fast_s)
        return power.design_budget(fast, "power-gated", triggers_per_day, hit_fraction).day_j
    if design == "always-on":
        return power.design_budget(pw, "always-on", triggers_per_day, hit_fraction).day_j
    if design == "scheduled":
        return scheduled_day_j(pw, cp, triggers_per_day, hit_fraction)
    raise ValueError(f"unknown design {design!r}")


@dataclass(frozen=True)
class Crossings:
    """The geometry of every pass, computed once and reused for every latency."""

    walk: tuple[capture.Crossing, ...]
    trot: tuple[capture.Crossing, ...]


def crossings(cp: CaptureParams, grid: int = 16) -> Crossings:
    geo = cp.geometry()
    walk = capture.grid_paths(cp.passes("walk"), grid, grid, grid)
    trot = capture.grid_paths(cp.passes("trot"), grid, grid, grid)
    return Crossings(capture.crossings(geo, walk), capture.crossings(geo, trot))


def p_capture(
    design: str,
    pw: power.PowerParams,
    cp: CaptureParams,
    cr: tuple[capture.Crossing, ...],
    k: int,
) -> float:
    """P(>= k frames) for one gait's crossings; the schedule mixes its two latencies by the
    share of leopard activity inside its windows."""
    frames = round(pw.frames)

    def at(latency: float) -> float:
        return capture.estimate(cr, latency, pw.frame_interval_s, frames, k).p_at_least_k

    outside = at(latency_s(design, pw, cp))
    if design != "scheduled":
        return outside
    inside = at(in_window_latency_s(cp))
    return cp.activity_in_windows * inside + (1 - cp.activity_in_windows) * outside


def compare(
    pw: power.PowerParams,
    cp: CaptureParams,
    triggers_per_day: float,
    hit_fraction: float,
    k: int = 2,
    grid: int = 16,
) -> dict[str, DesignResult]:
    """Every design's battery life and capture probability."""
    if not 1 <= k <= round(pw.frames):
        raise ValueError(f"k must be in 1..{round(pw.frames)} (the burst's frames), got {k}")
    cr = crossings(cp, grid)
    out = {}
    for design in DESIGNS:
        d = day_j(design, pw, cp, triggers_per_day, hit_fraction)
        p_walk = p_capture(design, pw, cp, cr.walk, k)
        out[design] = DesignResult(
            design=design,
            latency_s=latency_s(design, pw, cp),
            latency_in_window_s=in_window_latency_s(cp) if design == "scheduled" else None,
            day_j=d,
            life_days=pw.battery_j / d,
            p_capture=p_walk,
            p_capture_trot=p_capture(design, pw, cp, cr.trot, k),
            leopards_per_pack=cp.leopard_passes_per_day * pw.battery_j / d * p_walk,
        )
    return out
