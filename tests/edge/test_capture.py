"""Capture model against cases with known answers: crossing times in closed form, zero latency,
perpendicular paths, a uniform speed distribution integrated by hand."""

from __future__ import annotations

import math

import pytest

from camtrap.core import capture
from camtrap.core.capture import Crossing, Geometry, Passes, Path, Sector

WIDE = Sector(range_m=100.0, fov_deg=90.0)  # |x| <= y: the view edge is at 45 degrees


def _cross(geo: Geometry, path: Path) -> Crossing:
    return capture.crossings(geo, [path])[0]


def test_perpendicular_path_is_in_view_for_the_closed_form_crossing_time() -> None:
    # across the frame at 3 m, 1 m/s, 90 deg FOV: in view while |x| <= 3, i.e. t in [-3, 3]
    (span,) = capture.sector_intervals(WIDE, Path(3.0, 0.0, 1.0))
    assert span == pytest.approx((-3.0, 3.0))
    # Camera Module 3 (66 deg) at 2 m, walking 1.2 m/s: 2 * 2 * tan(33 deg) / 1.2 seconds
    (span,) = capture.sector_intervals(Sector(100.0, 66.0), Path(2.0, 0.0, 1.2))
    assert span[1] - span[0] == pytest.approx(4 * math.tan(math.radians(33)) / 1.2)


def test_angled_path_enters_and_leaves_where_the_lines_meet_the_view_edges() -> None:
    # heading h: x = v t cos h, y = d + v t sin h; edges x = -y and x = y
    d, v, h = 3.0, 1.5, math.radians(30)
    (span,) = capture.sector_intervals(WIDE, Path(d, 30.0, v))
    enter = -d / (v * (math.cos(h) + math.sin(h)))
    leave = d / (v * (math.cos(h) - math.sin(h)))
    assert span == pytest.approx((enter, leave))
    # the mirrored pass (right to left) is in view just as long
    (mirror,) = capture.sector_intervals(WIDE, Path(d, 30.0, v, leftward=True))
    assert mirror == pytest.approx(span)


def test_range_limit_cuts_the_crossing_where_the_path_meets_the_circle() -> None:
    # half-plane zone (180 deg), 5 m range, path 3 m out: in zone for |x| <= 4
    (span,) = capture.sector_intervals(Sector(5.0, 180.0), Path(3.0, 0.0, 2.0))
    assert span == pytest.approx((-2.0, 2.0))
    assert capture.sector_intervals(Sector(2.5, 180.0), Path(3.0, 0.0, 2.0)) == ()


def test_near_limit_splits_a_crossing_that_passes_under_the_frame() -> None:
    sector = Sector(range_m=10.0, fov_deg=180.0, min_range_m=1.0)
    near, far = math.sqrt(1 - 0.25), math.sqrt(100 - 0.25)
    spans = capture.sector_intervals(sector, Path(0.5, 0.0, 1.0))
    assert len(spans) == 2
    assert spans[0] == pytest.approx((-far, -near)) and spans[1] == pytest.approx((near, far))


def test_vertical_fov_gives_the_near_and_far_limits_of_the_mounting_geometry() -> None:
    # lens 0.5 m up, body centre 0.4 m: 0.1 m below; level camera, 41 deg vertical FOV
    near, far = capture.vertical_ranges(0.5, 0.0, 41.0, 0.4)
    assert (near, far) == (pytest.approx(0.1 / math.tan(math.radians(20.5))), math.inf)
    # tilted 30 deg down, 40 deg FOV: frame edges at -50 and -10 deg elevation
    near, far = capture.vertical_ranges(0.5, 30.0, 40.0, 0.4)
    assert near == pytest.approx(0.1 / math.tan(math.radians(50)))
    assert far == pytest.approx(0.1 / math.tan(math.radians(10)))
    # aimed up and the target below the lens: never in the frame
    with pytest.raises(ValueError, match="never in a camera"):
        capture.camera_view(
            hfov_deg=66,
            vfov_deg=10,
            range_m=8,
            height_m=1.0,
            tilt_down_deg=-30,
            target_height_m=0.2,
        )


def test_frames_count_exactly_on_a_perpendicular_pass() -> None:
    geo = Geometry(pir=WIDE, camera=WIDE)
    c = _cross(geo, Path(3.0, 0.0, 1.0))  # trigger at -3 s, in view until +3 s
    assert c.trigger_s == pytest.approx(-3.0)
    assert capture.frames_in_view(c, 0.0, 0.5, 5) == 5
    # first frame 5 s after the trigger (t = 2): frames at 2, 2.5, 3 (the edge counts), 3.5, 4
    assert capture.frames_in_view(c, 5.0, 0.5, 5) == 3
    assert capture.frames_in_view(c, 6.5, 0.5, 5) == 0
    # interval 0: every frame at the same instant, all in or all out
    assert capture.frames_in_view(c, 1.0, 0.0, 5) == 5
    assert capture.frames_in_view(c, 7.0, 0.0, 5) == 0


def test_pir_wider_than_the_camera_fires_before_the_animal_is_in_frame() -> None:
    geo = Geometry(pir=Sector(100.0, 120.0), camera=Sector(100.0, 60.0))
    c = _cross(geo, Path(3.0, 0.0, 1.0))
    assert c.trigger_s == pytest.approx(-3 * math.tan(math.radians(60)))
    assert c.view[0] == pytest.approx(
        (-3 * math.tan(math.radians(30)), 3 * math.tan(math.radians(30)))
    )
    # zero latency: the first frames are taken before the animal reaches the frame
    lead = c.view[0][0] - c.trigger_s  # 3.46 s: frames at 0..3 s are empty, the one at 4 s not
    assert capture.frames_in_view(c, 0.0, 1.0, 5) == 5 - math.ceil(lead / 1.0) == 1
    assert capture.frames_in_view(c, 0.0, 0.5, 5) == 0


def test_zero_latency_with_pir_matched_to_the_frame_always_catches_the_first_frame() -> None:
    geo = Geometry(pir=WIDE, camera=WIDE)
    paths = capture.grid_paths(Passes((2, 4), (-60, 60), (0.5, 3.0)), 6, 6, 6)
    est = capture.estimate(capture.crossings(geo, paths), 0.0, 0.5, 5, 1)
    assert est.p_at_least_k == pytest.approx(1.0)
    assert est.trigger_fraction == pytest.approx(1.0)


def test_uniform_speeds_give_the_hand_integrated_probability() -> None:
    # across at 3 m, 90 deg FOV matched PIR: 6 m in view, 6 / v seconds after the trigger.
    # k = 2 frames need L + (k - 1) * dt <= 6 / v, so v <= 6 / 4.5; v ~ U(0.5, 1.5):
    # P = (6 / 4.5 - 0.5) / 1.0 = 0.8333
    geo = Geometry(pir=WIDE, camera=WIDE)
    paths = capture.grid_paths(Passes((3, 3), (0, 0), (0.5, 1.5)), 1, 1, 600)
    est = capture.estimate(capture.crossings(geo, paths), 4.0, 0.5, 5, 2)
    assert est.p_at_least_k == pytest.approx(6 / 4.5 - 0.5, abs=2e-3)
    assert sum(est.frame_distribution) == pytest.approx(1.0)
    assert est.expected_frames == pytest.approx(
        sum(j * p for j, p in enumerate(est.frame_distribution))
    )


def test_latency_longer_than_any_crossing_catches_nothing() -> None:
    geo = Geometry(pir=WIDE, camera=WIDE)
    paths = capture.grid_paths(Passes((2, 4), (-30, 30), (0.8, 1.7)), 4, 4, 4)
    cr = capture.crossings(geo, paths)
    longest = max(c.view[0][1] - (c.trigger_s or 0.0) for c in cr)
    est = capture.estimate(cr, longest + 0.01, 0.5, 5, 1)
    assert est.p_at_least_k == 0.0 and est.expected_frames == 0.0


def test_probability_falls_with_latency_and_with_k() -> None:
    geo = Geometry(pir=Sector(5.0, 94.0), camera=Sector(8.0, 66.0))
    cr = capture.crossings(geo, capture.grid_paths(Passes((2, 4), (-60, 60), (0.77, 1.72))))
    ps = capture.curve(cr, [1.0, 2.0, 4.0, 8.0, 14.0], 0.5, 5, 2)
    assert ps == sorted(ps, reverse=True) and ps[0] > 0.9 and ps[-1] == 0.0
    by_k = [capture.estimate(cr, 2.0, 0.5, 5, k).p_at_least_k for k in range(1, 6)]
    assert by_k == sorted(by_k, reverse=True)


def test_passes_beyond_the_pir_range_never_trigger() -> None:
    geo = Geometry(pir=Sector(6.0, 180.0), camera=Sector(20.0, 66.0))
    paths = capture.grid_paths(Passes((4, 8), (0, 0), (1, 1)), 100, 1, 1)
    est = capture.estimate(capture.crossings(geo, paths), 0.0, 0.5, 5, 1)
    assert est.trigger_fraction == pytest.approx(0.5)


def test_pir_aimed_up_the_trail_buys_lead_time_for_animals_coming_from_that_side() -> None:
    cam = Sector(8.0, 66.0)
    path = Path(3.0, 0.0, 1.0)  # left to right
    ahead = _cross(Geometry(Sector(8.0, 94.0, yaw_deg=40.0), cam), path).trigger_s
    centred = _cross(Geometry(Sector(8.0, 94.0), cam), path).trigger_s
    assert ahead is not None and centred is not None and ahead < centred


def test_bad_arguments_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="fov_deg"):
        Sector(5.0, 200.0)
    with pytest.raises(ValueError, match="speed"):
        Path(3.0, 0.0, 0.0)
    geo = Geometry(pir=WIDE, camera=WIDE)
    cr = capture.crossings(geo, [Path(3.0, 0.0, 1.0)])
    with pytest.raises(ValueError, match="k <= frames"):
        capture.estimate(cr, 0.0, 0.5, 5, 6)
    far = capture.crossings(Geometry(Sector(1.0, 90.0), WIDE), [Path(3.0, 0.0, 1.0)])
    with pytest.raises(ValueError, match="ever enters"):
        capture.estimate(far, 0.0, 0.5, 5, 1)
