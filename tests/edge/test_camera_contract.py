"""Contract suite for the picamera2 camera adapter.

The `contract` tests run against the behaving fake in `fake_picamera2.py`, and against a real
camera on a Pi when ``CAMTRAP_REAL_CAMERA=1`` is set (picamera2 from apt, a camera attached)::

    CAMTRAP_REAL_CAMERA=1 python -m pytest tests/edge/test_camera_contract.py -q

The tests after the contract drive the fake's failure modes (timeouts, dead camera, a request
never released, the lamp in the dark), which a real camera cannot be asked to do on cue.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory
from PIL import Image

from camtrap.adapters.picamera2_camera import Picamera2Camera, yuv420_to_rgb
from camtrap.config import CameraConfig
from camtrap.errors import CameraError, UsageError
from tests.edge.fake_picamera2 import FakeCameraWorld, rgb_to_yuv420

REAL = os.environ.get("CAMTRAP_REAL_CAMERA") == "1"
INPUT = (96, 96)
MAIN = (640, 480)


@dataclass
class Rig:
    camera: Picamera2Camera
    world: FakeCameraWorld | None  # None on a real Pi
    pins: MockFactory | None


def _cfg(**kw: Any) -> CameraConfig:
    base = CameraConfig(main_size=MAIN, settle_frames=2, timeout_s=2.0, retries=2, ir_mode="off")
    return replace(base, **kw)


def make_rig(cfg: CameraConfig, world: FakeCameraWorld | None = None, real: bool = False) -> Rig:
    if real:
        return Rig(Picamera2Camera(cfg, INPUT), None, None)
    world = world or FakeCameraWorld()
    pins = MockFactory()
    cam = Picamera2Camera(
        cfg,
        INPUT,
        pin_factory=pins,
        picamera2_factory=world.picamera2_class(),
        sleep=world.advance,
        monotonic=world.monotonic,
    )
    return Rig(cam, world, pins)


BACKENDS = ["fake"] + (["real"] if REAL else [])


@pytest.fixture(params=BACKENDS)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    r = make_rig(_cfg(), real=request.param == "real")
    r.camera.start()
    yield r
    r.camera.stop()


# -- the contract: holds for the fake and for a real camera ------------------------------------


def test_contract_burst_yields_n_frames_with_lores_pixels_at_model_size(rig: Rig) -> None:
    frames = list(rig.camera.burst(4, 0.1))
    assert [f.index for f in frames] == [0, 1, 2, 3]
    for f in frames:
        assert f.pixels.shape == (INPUT[1], INPUT[0], 3)
        assert f.pixels.dtype == np.uint8
        assert f.name == f"{f.index:03d}.jpg"


def test_contract_frames_carry_main_stream_jpegs_at_main_size(rig: Rig) -> None:
    frames = list(rig.camera.burst(2, 0.0))
    for f in frames:
        with Image.open(io.BytesIO(f.image)) as im:
            assert im.format == "JPEG"
            assert im.size == MAIN


def test_contract_frame_times_start_at_zero_and_follow_the_interval(rig: Rig) -> None:
    frames = list(rig.camera.burst(3, 0.5))
    ts = [f.t for f in frames]
    assert ts[0] == 0.0
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(ts))


def test_contract_closing_a_burst_early_leaves_the_camera_usable(rig: Rig) -> None:
    for _ in range(6):  # more than the buffer count: a leaked request would starve the camera
        gen = rig.camera.burst(5, 0.0)
        next(gen)
        gen.close()
    assert len(list(rig.camera.burst(5, 0.0))) == 5
    if rig.world is not None:
        assert rig.world.held == 0


def test_contract_many_bursts_in_a_row_do_not_leak_buffers(rig: Rig) -> None:
    for _ in range(5):
        assert len(list(rig.camera.burst(3, 0.0))) == 3
    if rig.world is not None:
        assert rig.world.held == 0


def test_contract_stop_then_start_works_again(rig: Rig) -> None:
    rig.camera.stop()
    rig.camera.start()
    assert len(list(rig.camera.burst(2, 0.0))) == 2


# -- the fake itself behaves like the camera --------------------------------------------------


def test_fake_starves_when_a_request_is_never_released() -> None:
    world = FakeCameraWorld()
    cls = world.picamera2_class()
    cam = cls()
    cam.configure(cam.create_video_configuration(main={"size": MAIN}, buffer_count=2))
    cam.start()
    cam.capture_request()
    cam.capture_request()
    with pytest.raises(TimeoutError):
        cam.wait(cam.capture_request(wait=False), timeout=1.0)
    with pytest.raises(RuntimeError, match="never released"):
        cam.capture_request()


def test_fake_refuses_a_second_open_and_a_lores_bigger_than_main() -> None:
    world = FakeCameraWorld()
    cls = world.picamera2_class()
    cam = cls()
    with pytest.raises(RuntimeError, match="busy"):
        cls()
    with pytest.raises(RuntimeError, match="exceed"):
        cam.configure(
            cam.create_video_configuration(main={"size": (64, 64)}, lores={"size": (96, 96)})
        )


def test_yuv420_round_trip_keeps_colours_with_padded_rows() -> None:
    rgb = np.zeros((8, 10, 3), np.uint8)
    rgb[:, :5] = (200, 30, 40)
    rgb[:, 5:] = (20, 180, 220)
    back = yuv420_to_rgb(rgb_to_yuv420(rgb, stride=64), 10, 8)
    assert back.shape == (8, 10, 3)
    assert np.abs(back[:, :4].astype(int) - (200, 30, 40)).max() <= 2
    assert np.abs(back[:, 6:].astype(int) - (20, 180, 220)).max() <= 2


# -- the adapter on the fake: configuration, lamp, failures -----------------------------------


def test_lores_pixels_show_the_scene_colour() -> None:
    world = FakeCameraWorld(scene=np.full((120, 160, 3), (180, 40, 30), np.uint8))
    r = make_rig(_cfg(), world)
    frame = next(iter(r.camera.burst(1, 0.0)))
    assert np.abs(frame.pixels.astype(int) - (180, 40, 30)).max() <= 3


def test_configuration_has_main_and_lores_streams_and_several_buffers() -> None:
    r = make_rig(_cfg(lens_position=0.5))
    r.camera.start()
    assert r.world is not None
    (cam,) = r.world.open_instances
    assert cam.config is not None
    assert cam.config["main"] == {"format": "RGB888", "size": MAIN}
    assert cam.config["lores"] == {"format": "YUV420", "size": INPUT}
    assert cam.config["buffer_count"] >= 3
    assert cam.controls == {"AfMode": 0, "LensPosition": 0.5}


def test_fixed_focus_camera_ignores_lens_position() -> None:
    r = make_rig(_cfg(lens_position=0.5), FakeCameraWorld(has_autofocus=False))
    assert len(list(r.camera.burst(2, 0.0))) == 2


def test_settle_frames_are_dropped_after_start() -> None:
    r = make_rig(_cfg(settle_frames=7))
    r.camera.start()
    assert r.world is not None and r.world.captures == 7


def test_noir_tuning_file_is_loaded_and_passed_to_the_camera() -> None:
    r = make_rig(_cfg(tuning_file="imx708_noir.json"))
    r.camera.start()
    assert r.world is not None
    assert r.world.open_instances[0].tuning == {
        "version": 2.0,
        "target": "bcm2835",
        "file": "imx708_noir.json",
    }


def test_unknown_tuning_file_is_a_usage_error_naming_the_key() -> None:
    r = make_rig(_cfg(tuning_file="imx999_noir.json"))
    with pytest.raises(UsageError, match=r"camera.tuning_file: 'imx999_noir.json'"):
        r.camera.start()


def test_odd_model_input_size_is_captured_even_and_resized() -> None:
    world = FakeCameraWorld()
    cam = Picamera2Camera(_cfg(), (75, 75), picamera2_factory=world.picamera2_class())
    frame = next(iter(cam.burst(1, 0.0)))
    assert frame.pixels.shape == (75, 75, 3)


def test_a_timeout_restarts_the_camera_and_the_burst_completes() -> None:
    r = make_rig(_cfg())
    r.camera.start()
    assert r.world is not None
    r.world.fail_next(1, "timeout")
    frames = list(r.camera.burst(3, 0.0))
    assert len(frames) == 3
    c = r.camera.counters()
    assert (c["camera_timeouts"], c["camera_restarts"], c["camera_frames"]) == (1, 1, 3)
    assert r.world.opened == 2
    assert len(r.world.open_instances) == 1


def test_a_dead_camera_raises_camera_error_after_retries_and_is_counted() -> None:
    r = make_rig(_cfg(retries=2))
    r.camera.start()
    assert r.world is not None
    r.world.dead = True
    got: list[Any] = []
    with pytest.raises(CameraError, match="3 times"):
        got.extend(r.camera.burst(4, 0.0))
    assert got == []
    c = r.camera.counters()
    assert c["camera_timeouts"] == 3
    assert c["camera_restarts"] == 2
    assert c["camera_failed_bursts"] == 1
    assert c["camera_last_error"] == "capture timed out"
    assert r.world.open_instances == []


def test_a_camera_that_dies_mid_burst_raises_instead_of_ending_short() -> None:
    r = make_rig(_cfg(retries=1))
    assert r.world is not None
    gen = r.camera.burst(4, 0.0)
    first = next(gen)
    r.world.fail_next(2, "error")
    with pytest.raises(CameraError, match="RuntimeError: Camera frontend has timed out"):
        next(gen)
    assert first.index == 0
    assert r.camera.counters()["camera_failures"] == 2


def test_a_camera_that_will_not_open_raises_camera_error_on_start() -> None:
    world = FakeCameraWorld(open_failures=5)
    r = make_rig(_cfg(retries=2), world)
    with pytest.raises(CameraError, match="did not complete"):
        r.camera.start()


def test_camera_recovers_when_opening_fails_once() -> None:
    r = make_rig(_cfg(), FakeCameraWorld(open_failures=1))
    r.camera.start()
    assert len(list(r.camera.burst(2, 0.0))) == 2


def test_without_picamera2_installed_start_says_how_to_install_it() -> None:
    try:
        import picamera2  # type: ignore[import-not-found]  # noqa: F401

        pytest.skip("picamera2 is installed here")
    except ImportError:
        pass
    cam = Picamera2Camera(_cfg(), INPUT)
    with pytest.raises(CameraError, match="apt install python3-picamera2"):
        cam.start()


def test_ir_lamp_lights_for_a_dark_burst_and_goes_off_after() -> None:
    r = make_rig(_cfg(ir_mode="auto", ir_lux_below=5.0), FakeCameraWorld(lux=0.5))
    assert r.pins is not None
    lamp = r.pins.pin(27)
    states: list[Any] = []
    for _ in r.camera.burst(3, 0.0):
        states.append(lamp.state)
    assert states == [1, 1, 1]
    assert lamp.state == 0
    assert r.camera.counters()["camera_ir_bursts"] == 1


def test_ir_lamp_stays_off_in_daylight() -> None:
    r = make_rig(_cfg(ir_mode="auto"), FakeCameraWorld(lux=800.0))
    assert r.pins is not None
    states = [r.pins.pin(27).state for _ in r.camera.burst(2, 0.0)]
    assert states == [0, 0]
    assert r.camera.counters()["camera_ir_bursts"] == 0


def test_ir_lamp_goes_off_when_the_consumer_stops_early() -> None:
    r = make_rig(_cfg(ir_mode="on", ir_pin=22))
    assert r.pins is not None
    gen = r.camera.burst(5, 0.0)
    next(gen)
    assert r.pins.pin(22).state == 1
    gen.close()
    assert r.pins.pin(22).state == 0


def test_frames_are_not_encoded_when_saving_is_off() -> None:
    r = make_rig(_cfg(save_frames=False))
    assert all(f.image == b"" for f in r.camera.burst(2, 0.0))


def test_main_size_smaller_than_model_input_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"camera.main_size \[64, 48\]"):
        Picamera2Camera(_cfg(main_size=(64, 48)), INPUT)
