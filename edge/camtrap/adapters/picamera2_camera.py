"""The Raspberry Pi camera, through picamera2: the Camera port for the field.

One video configuration with two streams: ``main`` (full size, RGB888) for the frames that are
saved, and ``lores`` (YUV420 at the model's input size, scaled by the ISP) for inference. Bursts
use ``capture_request()`` + ``release()`` on a few buffers, so frames keep flowing; every request
is released before its frame is handed on, so a consumer that stops early never starves the
camera. The lens position is fixed (autofocus can take seconds), the first frames after start
are dropped while auto-exposure settles, a NoIR module gets its ``*_noir`` tuning file, and an
IR lamp on a GPIO is switched on for bursts in the dark.

A capture that fails or times out restarts the camera, up to ``camera.retries`` times; then the
burst raises `CameraError`. A burst yields exactly ``n`` frames or raises: it never ends short
and quiet. `counters()` feeds telemetry.

picamera2 is imported only when no factory is injected (it exists only on a Pi, from apt)::

    cam = Picamera2Camera(cfg.camera, input_size=(96, 96))
    cam.start()
    for frame in cam.burst(5, 0.5):
        ...
    cam.stop()
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from camtrap.config import CameraConfig
from camtrap.core.types import Frame
from camtrap.errors import CameraError, UsageError

log = logging.getLogger(__name__)

BUFFER_COUNT = 4  # requests in flight; we hold at most one at a time
AF_MODE_MANUAL = 0  # libcamera.controls.AfModeEnum.Manual


@dataclass(frozen=True)
class _Shot:
    pixels: np.ndarray  # lores, RGB, model input size
    image: bytes  # main stream, JPEG (empty when frames are not saved)
    timestamp_ns: int
    lux: float | None


def yuv420_to_rgb(buf: np.ndarray, width: int, height: int) -> np.ndarray:
    """Planar YUV420 as picamera2's ``make_array`` gives it ((h*3/2) x stride) to RGB uint8.

    BT.601 full range (the sYCC colour space the configuration asks for). Rows may be padded:
    the stride is the array's width.
    """
    stride = buf.shape[1]
    flat = buf.reshape(-1)
    y_end = height * stride
    c_len = (height // 2) * (stride // 2)
    y = flat[:y_end].reshape(height, stride)[:, :width].astype(np.float32)
    u = flat[y_end : y_end + c_len].reshape(height // 2, stride // 2)[:, : width // 2]
    v = flat[y_end + c_len : y_end + 2 * c_len].reshape(height // 2, stride // 2)[:, : width // 2]
    u = u.astype(np.float32).repeat(2, axis=0).repeat(2, axis=1) - 128.0
    v = v.astype(np.float32).repeat(2, axis=0).repeat(2, axis=1) - 128.0
    rgb = np.stack([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _even(n: int) -> int:
    return n + (n & 1)


class Picamera2Camera:
    """Camera port on picamera2; see the module docstring."""

    def __init__(
        self,
        camera_cfg: CameraConfig,
        input_size: tuple[int, int],
        pin_factory: Any = None,
        picamera2_factory: Any = None,
        *,
        jpeg_quality: int = 85,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = camera_cfg
        self.input_size = input_size
        self._lores_size = (_even(input_size[0]), _even(input_size[1]))
        if self._lores_size[0] > camera_cfg.main_size[0] or (
            self._lores_size[1] > camera_cfg.main_size[1]
        ):
            raise UsageError(
                f"camera.main_size {list(camera_cfg.main_size)} is smaller than the model "
                f"input {list(input_size)}"
            )
        self._pin_factory = pin_factory
        self._factory = picamera2_factory
        self.jpeg_quality = jpeg_quality
        self._sleep, self._monotonic = sleep, monotonic
        self._cam: Any = None
        self._lamp: Any = None
        self._counters: dict[str, int | float | str | None] = {
            "camera_bursts": 0,
            "camera_frames": 0,
            "camera_failures": 0,
            "camera_timeouts": 0,
            "camera_restarts": 0,
            "camera_failed_bursts": 0,
            "camera_ir_bursts": 0,
            "camera_last_error": None,
        }

    # -- the Camera port ---------------------------------------------------------------------
    def start(self) -> None:
        """Open, configure and start the camera; drop the auto-exposure settle frames."""
        if self._cam is None:
            self._with_retries(lambda: None)
        if self.cfg.ir_mode != "off" and self._lamp is None:
            self._lamp = self._make_lamp()

    def burst(self, n: int, interval_s: float) -> Iterator[Frame]:
        """Yield ``n`` frames ``interval_s`` apart; raise `CameraError` if the camera fails."""
        if n < 1:
            raise ValueError(f"burst of {n} frames")
        self.start()
        self._counters["camera_bursts"] = int(self._counters["camera_bursts"] or 0) + 1
        try:
            self._maybe_light_up()
            t0 = self._monotonic()
            first_ns: int | None = None
            for i in range(n):
                if i:
                    self._sleep(max(0.0, t0 + i * interval_s - self._monotonic()))
                shot = self._with_retries(self._capture)
                first_ns = shot.timestamp_ns if first_ns is None else first_ns
                self._bump("camera_frames")
                yield Frame(
                    index=i,
                    t=(shot.timestamp_ns - first_ns) / 1e9,
                    pixels=shot.pixels,
                    name=f"{i:03d}.jpg",
                    image=shot.image,
                )
        except CameraError:
            self._bump("camera_failed_bursts")
            raise
        finally:
            self._set_lamp(False)

    def stop(self) -> None:
        """Stop and close the camera and release the lamp pin."""
        self._close_camera()
        if self._lamp is not None:
            self._lamp.off()
            self._lamp.close()
            self._lamp = None

    def counters(self) -> dict[str, int | float | str | None]:
        """Telemetry counters (a copy)."""
        return dict(self._counters)

    @property
    def lamp_is_on(self) -> bool:
        return bool(self._lamp is not None and self._lamp.value)

    # -- opening and retrying ----------------------------------------------------------------
    def _with_retries(self, action: Callable[[], Any]) -> Any:
        """Run ``action`` on an open camera; on failure restart the camera and try again."""
        last: BaseException | None = None
        for attempt in range(self.cfg.retries + 1):
            if attempt:
                self._bump("camera_restarts")
                self._close_camera()
            try:
                if self._cam is None:
                    self._open()
                return action()
            except UsageError:
                self._close_camera()
                raise
            except (TimeoutError, RuntimeError, OSError) as e:
                last = e
                self._record_failure(e)
        self._close_camera()
        raise CameraError(
            f"camera failed {self.cfg.retries + 1} times in a row; last: {_describe(last)}"
        )

    def _record_failure(self, e: BaseException) -> None:
        self._bump("camera_timeouts" if isinstance(e, TimeoutError) else "camera_failures")
        self._counters["camera_last_error"] = _describe(e)
        log.warning("camera: %s", _describe(e))

    def _open(self) -> None:
        cls = self._factory if self._factory is not None else _import_picamera2()
        tuning = self._load_tuning(cls)
        cam = cls(tuning=tuning) if tuning is not None else cls()
        self._cam = cam
        cam.configure(self._configuration(cam))
        cam.start()
        for _ in range(self.cfg.settle_frames):
            self._capture(encode=False)

    def _load_tuning(self, cls: Any) -> dict[str, Any] | None:
        if not self.cfg.tuning_file:
            return None
        try:
            return cls.load_tuning_file(self.cfg.tuning_file)
        except RuntimeError:
            raise UsageError(
                f"camera.tuning_file: {self.cfg.tuning_file!r} not found in libcamera's tuning "
                "directories (e.g. imx708_noir.json for a Camera Module 3 NoIR)"
            ) from None

    def _configuration(self, cam: Any) -> Any:
        extra: dict[str, Any] = {}
        if self._factory is None:
            import libcamera  # type: ignore[import-not-found]  # only on a Pi

            extra["colour_space"] = libcamera.ColorSpace.Sycc()
        return cam.create_video_configuration(
            main={"size": tuple(self.cfg.main_size), "format": "RGB888"},
            lores={"size": self._lores_size, "format": "YUV420"},
            buffer_count=BUFFER_COUNT,
            controls=self._controls(cam),
            **extra,
        )

    def _controls(self, cam: Any) -> dict[str, Any]:
        if self.cfg.lens_position is None:
            return {}
        if "LensPosition" not in getattr(cam, "camera_controls", {}):
            log.warning("camera.lens_position set, but this camera has a fixed-focus lens")
            return {}
        return {"AfMode": AF_MODE_MANUAL, "LensPosition": float(self.cfg.lens_position)}

    def _close_camera(self) -> None:
        cam, self._cam = self._cam, None
        if cam is None:
            return
        try:
            cam.stop()
        finally:
            cam.close()

    # -- capturing ---------------------------------------------------------------------------
    def _capture(self, encode: bool = True) -> _Shot:
        """One request: copy what we need out of it, then release it before anything else."""
        job = self._cam.capture_request(wait=False)
        request = self._cam.wait(job, timeout=self.cfg.timeout_s)
        try:
            meta = request.get_metadata()
            lores = request.make_array("lores")
            image = self._jpeg(request) if encode and self.cfg.save_frames else b""
        finally:
            request.release()
        pixels = yuv420_to_rgb(lores, *self._lores_size)
        if self._lores_size != tuple(self.input_size):
            pixels = _resize(pixels, self.input_size)
        lux = meta.get("Lux")
        return _Shot(pixels, image, int(meta.get("SensorTimestamp", 0)), lux)

    def _jpeg(self, request: Any) -> bytes:
        buf = io.BytesIO()
        request.make_image("main").save(buf, format="JPEG", quality=self.jpeg_quality)
        return buf.getvalue()

    # -- the IR lamp -------------------------------------------------------------------------
    def _make_lamp(self) -> Any:
        from gpiozero import DigitalOutputDevice
        from gpiozero.exc import GPIOZeroError

        try:
            return DigitalOutputDevice(
                self.cfg.ir_pin, initial_value=False, pin_factory=self._pin_factory
            )
        except GPIOZeroError as e:
            raise CameraError(f"IR lamp on GPIO{self.cfg.ir_pin} (camera.ir_pin): {e}") from None

    def _maybe_light_up(self) -> None:
        """Lamp on for this burst if asked to, or in auto mode when the scene is dark."""
        if self.cfg.ir_mode == "off":
            return
        if self.cfg.ir_mode == "auto":
            probe = self._with_retries(lambda: self._capture(encode=False))
            if probe.lux is None or probe.lux >= self.cfg.ir_lux_below:
                return
        self._set_lamp(True)
        self._bump("camera_ir_bursts")
        for _ in range(self.cfg.settle_frames):  # exposure re-settles under the lamp
            self._with_retries(lambda: self._capture(encode=False))

    def _set_lamp(self, on: bool) -> None:
        if self._lamp is not None:
            self._lamp.value = on

    def _bump(self, key: str) -> None:
        self._counters[key] = int(self._counters[key] or 0) + 1


def snapshot(
    camera_cfg: CameraConfig,
    input_size: tuple[int, int],
    *,
    pin_factory: Any = None,
    picamera2_factory: Any = None,
) -> Frame:
    """One frame from a freshly started camera, which is stopped again (`camtrap doctor`);
    a `CameraError` says what failed."""
    import warnings

    camera = Picamera2Camera(
        camera_cfg, input_size, pin_factory=pin_factory, picamera2_factory=picamera2_factory
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            camera.start()
            return next(iter(camera.burst(1, 0.0)))
    finally:
        camera.stop()


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))


def _describe(e: BaseException | None) -> str:
    if isinstance(e, TimeoutError):
        return "capture timed out"
    return f"{type(e).__name__}: {e}" if e is not None else "unknown"


def _import_picamera2() -> Any:
    try:
        from picamera2 import Picamera2  # type: ignore[import-not-found]
    except ImportError as e:
        raise CameraError(
            f"picamera2 is not importable ({e}); on the Pi: sudo apt install python3-picamera2 "
            "and a venv made with --system-site-packages (see docs/field.md)"
        ) from None
    return Picamera2
