"""The `Camera` port over recorded bursts: each ``burst()`` call serves the next one.

Frames are decoded with Pillow; JPEGs are decoded at reduced size with ``Image.draft()`` (the
DCT scaling picks the smallest size not below the model input, or, with regions on, not below
the working width: `decode_size`), which is what keeps decoding cheap next to inference. The
EXIF orientation is applied to the decoded pixels (a photo taken with the camera on its side is
classified upright: sideways, a leopard reads as a fountain), while each `Frame` keeps the
original file bytes in ``image`` so the store saves exactly what was recorded. A corrupt or
truncated file raises `BadFrameError` for that frame, naming the file.

Limits, each a `BadFrameError` naming the file and the reason (the burst fails, the run goes
on): a frame over ``max_pixels`` (``MAX_PIXELS``, 24 MP: a Pi HQ or v3 camera frame is 12 MP) is
refused from its header, before any pixel is decoded (a 10000 x 10000 PNG would peak at 1.4 GB);
a file that is not a regular file is refused without opening it for a blocking read; 16-bit
images (``I;16`` grey, ``I`` from 16-bit PNGs) are scaled to 8 bits (>> 8) instead of being
clipped to white, and float or other deep modes are refused.

    camera = ReplayCamera(discover(["demo/bursts"]), input_size=(96, 96))
    for frame in camera.burst(n=5, interval_s=0.5): ...
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from camtrap.core.pipeline import Detector
from camtrap.core.types import Frame
from camtrap.errors import BadFrameError, CameraError
from camtrap.sim.bursts import RecordedBurst

ORIENTATION = 0x0112  # the EXIF tag; 5-8 turn the picture by 90 degrees
MAX_PIXELS = 24_000_000
MAX_FILE_BYTES = 64 << 20  # a frame file larger than this is not a camera frame
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_REDUCIBLE = ("RGB", "RGBA", "L", "LA", "CMYK", "YCbCr")  # modes Image.reduce() takes

Pace = Callable[[float], object]  # waits the given seconds between frames (sim); None: no wait


def decode_frame(
    data: bytes,
    index: int,
    t: float,
    name: str,
    draft_size: tuple[int, int] | None,
    max_pixels: int = MAX_PIXELS,
    max_width: int | None = None,
) -> Frame:
    """Decode one recorded frame; ``draft_size`` = (w, h) lets JPEG decode at reduced size (the
    smallest DCT scale not below it). With ``max_width``, a frame at least twice that wide after
    decoding (a PNG, a BMP) is reduced by a whole factor, so memory follows the working size."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size  # from the header: nothing is decoded yet
            if w * h > max_pixels:
                raise BadFrameError(
                    f"{name}: {w} x {h} = {w * h} pixels, over the budget of {max_pixels}"
                )
            turned = img.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8)
            if draft_size is not None:
                dw, dh = draft_size
                img.draft("RGB", (dh, dw) if turned else (dw, dh))
            upright = ImageOps.exif_transpose(img) or img
            if (
                max_width is not None
                and upright.width >= 2 * max_width
                and upright.mode in _REDUCIBLE
            ):
                upright = upright.reduce(upright.width // max_width)
            pixels = _rgb8(upright, name)
    except (
        OSError,
        SyntaxError,
        ValueError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
    ) as e:
        raise BadFrameError(f"{name}: cannot decode: {_reason(e)}") from None
    return Frame(index=index, t=t, pixels=pixels, name=Path(name).name, image=data)


def _rgb8(img: Image.Image, name: str) -> np.ndarray:
    """8-bit RGB; 16-bit grey scaled down, not clipped (``convert`` clips I;16 to white)."""
    if img.mode in _SIXTEEN_BIT:
        grey = np.asarray(img)
        if grey.dtype.kind not in "iu" or (
            grey.size and not 0 <= int(grey.min()) <= int(grey.max()) <= 0xFFFF
        ):
            raise BadFrameError(f"{name}: {img.mode} image with values over 16 bits: refused")
        eight = (grey.astype(np.uint32) >> 8).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(eight[:, :, None], 3, axis=2))
    if img.mode in ("F", "I;32", "I;32B", "I;32L") or ";" in img.mode:
        raise BadFrameError(f"{name}: image mode {img.mode} (float or deep): refused")
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def _reason(e: Exception) -> str:
    """Pillow's reason, without the in-memory file's address (records stay reproducible)."""
    if isinstance(e, UnidentifiedImageError):
        return "not an image format Pillow reads"
    return str(e)


@dataclass(frozen=True)
class DecodeSize:
    """What to decode recorded frames at: a JPEG draft size, and a width to reduce beyond."""

    draft: tuple[int, int] | None
    max_width: int | None = None


def decode_size(input_size: tuple[int, int], working_width: int | None) -> DecodeSize:
    """The model input when frames are classified whole; with regions (``working_width``), at
    least the working width whatever the height, and never twice as wide."""
    if working_width is None:
        return DecodeSize(input_size)
    return DecodeSize((working_width, 1), working_width)


def detector_decode_size(detector: Detector) -> DecodeSize:
    """Recorded frames decode at the model input, or with regions on at the working width."""
    working = detector.regions.working_width if detector.regions is not None else None
    return decode_size(detector.classifier.input_size, working)


def read_frame(
    path: Path,
    index: int,
    t: float,
    draft_size: tuple[int, int] | DecodeSize | None,
    max_pixels: int = MAX_PIXELS,
) -> Frame:
    size = draft_size if isinstance(draft_size, DecodeSize) else DecodeSize(draft_size)
    data = read_regular(path)
    return decode_frame(data, index, t, str(path), size.draft, max_pixels, size.max_width)


def read_regular(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file; anything else (a FIFO, a device) is refused unopened
    for reading: ``O_NONBLOCK`` keeps a FIFO's open from waiting for a writer."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise BadFrameError(f"{path}: cannot read: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadFrameError(f"{path}: not a regular file: skipped")
        if st.st_size > limit:
            raise BadFrameError(f"{path}: {st.st_size} bytes, over the {limit}-byte frame limit")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit + 1)
    except OSError as e:
        raise BadFrameError(f"{path}: cannot read: {e.strerror}") from None
    finally:
        os.close(fd)


class ReplayCamera:
    """Serves recorded bursts in order, one per ``burst()`` call."""

    def __init__(
        self,
        bursts: Sequence[RecordedBurst],
        input_size: tuple[int, int] | DecodeSize | None = None,
        pace: Pace | None = None,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        self._bursts = list(bursts)
        self._draft = input_size
        self._max_pixels = max_pixels
        self._pace = pace
        self.served = 0  # bursts handed out so far
        self.busy = False  # a burst is being read

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def counters(self) -> dict[str, int]:
        """A recording has no capture counters of its own."""
        return {}

    @property
    def exhausted(self) -> bool:
        return self.served >= len(self._bursts)

    def peek(self) -> RecordedBurst | None:
        """The recorded burst the next ``burst()`` call will serve."""
        return None if self.exhausted else self._bursts[self.served]

    def burst(self, n: int, interval_s: float) -> Iterator[Frame]:
        """Up to ``n`` frames of the next recorded burst; ``interval_s`` paces them in sim."""
        if self.exhausted:
            raise CameraError(f"no recorded burst left (all {len(self._bursts)} served)")
        recorded = self._bursts[self.served]
        self.busy = True  # before `served`, so a watcher never sees it served and idle too soon
        self.served += 1
        return self._frames(recorded, n, interval_s)

    def _frames(self, recorded: RecordedBurst, n: int, interval_s: float) -> Iterator[Frame]:
        try:
            if recorded.problem is not None:
                raise BadFrameError(recorded.problem)
            for i, path in enumerate(recorded.frames[:n]):
                if i and self._pace is not None:
                    self._pace(interval_s)
                t = i * recorded.meta.frame_interval_s
                yield read_frame(path, i, t, self._draft, self._max_pixels)
        finally:
            self.busy = False
