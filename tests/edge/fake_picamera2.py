"""A behaving fake of the part of the picamera2 API that camtrap uses.

It is strict where the real library bites: a configuration is validated (lores no larger than
main, YUV420 lores with even sizes), controls must be advertised, the camera must be started
before capturing, one process holds the camera at a time, and every completed request holds one
of ``buffer_count`` buffers until ``release()``: a request that is never released starves the
camera exactly as on a Pi (the next capture blocks; here it times out or raises at once).

Usage::

    world = FakeCameraWorld(scene=np.full((480, 640, 3), 200, np.uint8), lux=300.0)
    Picamera2 = world.picamera2_class()          # what `from picamera2 import Picamera2` gives
    cam = Picamera2(tuning=Picamera2.load_tuning_file("imx708_noir.json"))
    cam.configure(cam.create_video_configuration(main={"size": (640, 480)},
                                                 lores={"size": (96, 96)}))
    cam.start()
    request = cam.wait(cam.capture_request(wait=False), timeout=1.0)
    lores = request.make_array("lores")           # (h * 3 // 2, stride) uint8, YUV420
    request.release()

Failure knobs: ``world.fail_next(n, "timeout" | "error")``, ``world.dead = True`` (every capture
fails), ``world.open_failures = n`` (the next n opens fail), ``world.has_autofocus``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

TUNING_FILES = ("imx708.json", "imx708_noir.json", "imx219.json", "imx219_noir.json")
SENSOR_RESOLUTION = (4608, 2592)


def _default_scene() -> np.ndarray:
    y, x = np.mgrid[0:240, 0:320]
    return np.stack([x * 255 // 319, y * 255 // 239, np.full_like(x, 90)], axis=-1).astype(np.uint8)


def rgb_to_yuv420(rgb: np.ndarray, stride: int) -> np.ndarray:
    """Planar YUV420 (BT.601 full range) laid out as picamera2's make_array gives it."""
    h, w = rgb.shape[:2]
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128.0

    def sub(c: np.ndarray) -> np.ndarray:
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    def plane(c: np.ndarray, pitch: int) -> np.ndarray:
        out = np.zeros((c.shape[0], pitch), np.uint8)
        out[:, : c.shape[1]] = np.clip(np.rint(c), 0, 255).astype(np.uint8)
        return out.reshape(-1)

    flat = np.concatenate(
        [plane(y, stride), plane(sub(u), stride // 2), plane(sub(v), stride // 2)]
    )
    return flat.reshape(h * 3 // 2, stride)


@dataclass
class FakeCameraWorld:
    """The scene, the clock and the failure knobs, shared by every fake camera instance."""

    scene: np.ndarray = field(default_factory=_default_scene)
    lux: float = 400.0
    frame_period_s: float = 1 / 30
    has_autofocus: bool = True
    dead: bool = False
    open_failures: int = 0
    time_ns: int = 1_000_000_000
    failures: list[str] = field(default_factory=list)
    opened: int = 0
    captures: int = 0
    instances: list[FakePicamera2] = field(default_factory=list)

    def picamera2_class(self) -> type[FakePicamera2]:
        return type("Picamera2", (FakePicamera2,), {"world": self})

    def fail_next(self, n: int = 1, kind: str = "timeout") -> None:
        assert kind in ("timeout", "error")
        self.failures.extend([kind] * n)

    # Time: the adapter's `sleep` and `monotonic` in tests.
    def advance(self, seconds: float) -> None:
        self.time_ns += max(0, round(seconds * 1e9))

    def monotonic(self) -> float:
        return self.time_ns / 1e9

    @property
    def held(self) -> int:
        """Requests completed and not yet released, over every instance."""
        return sum(c.held for c in self.instances)

    @property
    def open_instances(self) -> list[FakePicamera2]:
        return [c for c in self.instances if not c.closed]


class FakeJob:
    def __init__(self, camera: FakePicamera2) -> None:
        self.camera = camera


class FakePicamera2:
    """Mimics ``picamera2.Picamera2``; subclass per world via `FakeCameraWorld.picamera2_class`."""

    world: FakeCameraWorld  # set on the per-world subclass

    @classmethod
    def load_tuning_file(cls, tuning_file: str, dir: str | None = None) -> dict[str, Any]:
        if tuning_file not in TUNING_FILES:
            raise RuntimeError("Tuning file not found")
        return {"version": 2.0, "target": "bcm2835", "file": tuning_file}

    def __init__(self, camera_num: int = 0, tuning: dict[str, Any] | None = None) -> None:
        world = self.world
        if world.open_failures > 0:
            world.open_failures -= 1
            raise RuntimeError("Camera __init__ sequence did not complete.")
        if world.open_instances:
            raise RuntimeError("Failed to acquire camera: Device or resource busy")
        world.opened += 1
        world.instances.append(self)
        self.tuning = tuning
        self.sensor_resolution = SENSOR_RESOLUTION
        self.camera_controls: dict[str, tuple[Any, Any, Any]] = {
            "ExposureTime": (75, 11766829, None),
            "AnalogueGain": (1.0, 16.0, None),
            "FrameDurationLimits": (33333, 120000000, None),
        }
        if world.has_autofocus:
            self.camera_controls |= {"AfMode": (0, 2, 0), "LensPosition": (0.0, 15.0, 1.0)}
        self.config: dict[str, Any] | None = None
        self.controls: dict[str, Any] = {}
        self.started = False
        self.closed = False
        self.held = 0

    # -- configuration ---------------------------------------------------------------------
    def create_video_configuration(
        self,
        main: dict[str, Any] | None = None,
        lores: dict[str, Any] | None = None,
        buffer_count: int = 6,
        controls: dict[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        return self._make_config("video", main, lores, buffer_count, controls)

    def create_still_configuration(
        self,
        main: dict[str, Any] | None = None,
        lores: dict[str, Any] | None = None,
        buffer_count: int = 1,
        controls: dict[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        return self._make_config("still", main, lores, buffer_count, controls)

    def _make_config(self, use_case, main, lores, buffer_count, controls) -> dict[str, Any]:
        main_size = (1280, 720) if use_case == "video" else self.sensor_resolution
        return {
            "use_case": use_case,
            "buffer_count": buffer_count,
            "main": {"format": "XBGR8888", "size": main_size} | dict(main or {}),
            "lores": None
            if lores is None
            else {"format": "YUV420", "size": (320, 240)} | dict(lores),
            "controls": dict(controls or {}),
        }

    def configure(self, config: dict[str, Any]) -> None:
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        main, lores = config["main"], config.get("lores")
        _check_size("main", main["size"])
        if lores is not None:
            _check_size("lores", lores["size"])
            if lores["format"] not in ("YUV420", "YVU420"):
                raise RuntimeError("lores stream must be YUV")
            lw, lh = lores["size"]
            if lw > main["size"][0] or lh > main["size"][1]:
                raise RuntimeError("lores stream dimensions may not exceed main stream")
        self._check_controls(config.get("controls", {}))
        self.config = config
        self.controls = dict(config.get("controls", {}))

    def set_controls(self, controls: dict[str, Any]) -> None:
        self._check_controls(controls)
        self.controls |= controls

    def _check_controls(self, controls: dict[str, Any]) -> None:
        for name in controls:
            if name not in self.camera_controls:
                raise RuntimeError(f"Control {name} is not advertised by libcamera")

    # -- running -----------------------------------------------------------------------------
    def start(self) -> None:
        if self.config is None:
            raise RuntimeError("Camera has not been configured")
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.started = False
        self.closed = True

    def capture_request(self, wait: Any = None, flush: Any = None) -> Any:
        if not self.started or self.closed:
            raise RuntimeError("Camera is not running")
        job = FakeJob(self)
        return job if wait is False else self.wait(job)

    def wait(self, job: FakeJob, timeout: float | None = None) -> FakeRequest:
        world = self.world
        assert self.config is not None
        if world.dead or world.failures:
            kind = "timeout" if world.dead else world.failures.pop(0)
            world.advance(timeout or 0)
            if kind == "timeout":
                raise TimeoutError()
            raise RuntimeError("Camera frontend has timed out!")
        if self.held >= self.config["buffer_count"]:
            if timeout is None:
                raise RuntimeError(
                    f"fake picamera2: would block forever: all {self.held} buffers are held "
                    "by requests that were never released"
                )
            world.advance(timeout)
            raise TimeoutError()
        period_ns = round(world.frame_period_s * 1e9)
        world.time_ns = (world.time_ns // period_ns + 1) * period_ns  # the next frame boundary
        world.captures += 1
        self.held += 1
        return FakeRequest(self, world.time_ns)


class FakeRequest:
    """A completed request; holds a buffer until `release()`."""

    def __init__(self, camera: FakePicamera2, timestamp_ns: int) -> None:
        self.camera = camera
        self.timestamp_ns = timestamp_ns
        self.released = False

    def _stream(self, name: str) -> dict[str, Any]:
        if self.released:
            raise RuntimeError("request used after release()")
        config = self.camera.config
        assert config is not None
        if config.get(name) is None:
            raise RuntimeError(f"no stream named {name!r} in this configuration")
        return config[name]

    def _scene(self, size: tuple[int, int]) -> np.ndarray:
        return np.asarray(Image.fromarray(self.camera.world.scene).resize(size))

    def make_array(self, name: str) -> np.ndarray:
        stream = self._stream(name)
        rgb = self._scene(stream["size"])
        fmt = stream["format"]
        if fmt in ("YUV420", "YVU420"):
            stride = -(-stream["size"][0] // 64) * 64  # the ISP pads rows
            return rgb_to_yuv420(rgb, stride)
        if fmt == "RGB888":  # picamera2's RGB888 is B, G, R in memory
            return rgb[..., ::-1].copy()
        if fmt == "BGR888":
            return rgb.copy()
        alpha = np.full((*rgb.shape[:2], 1), 255, np.uint8)
        return np.concatenate([rgb[..., ::-1], alpha], axis=-1)  # XBGR8888

    def make_image(self, name: str) -> Image.Image:
        stream = self._stream(name)
        if stream["format"] in ("YUV420", "YVU420"):
            raise RuntimeError("make_image does not support YUV420")
        return Image.fromarray(self._scene(stream["size"]))

    def save(self, name: str, file_output: Any, format: str | None = None) -> None:
        buf = io.BytesIO()
        self.make_image(name).save(buf, format=format or "JPEG")
        file_output.write(buf.getvalue())

    def get_metadata(self) -> dict[str, Any]:
        self._stream("main")
        meta: dict[str, Any] = {
            "SensorTimestamp": self.timestamp_ns,
            "Lux": self.camera.world.lux,
            "ExposureTime": 10000,
            "AnalogueGain": 1.0,
        }
        if "LensPosition" in self.camera.controls:
            meta["LensPosition"] = self.camera.controls["LensPosition"]
        return meta

    def release(self) -> None:
        if self.released:
            raise RuntimeError("request released twice")
        self.released = True
        self.camera.held -= 1


def _check_size(name: str, size: tuple[int, int]) -> None:
    w, h = size
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise RuntimeError(f"{name} stream size {size} must be positive and even")
