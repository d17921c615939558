"""The `Camera` port over recorded bursts: each ``burst()`` call serves the next one.

Frames are decoded with Pillow; JPEGs are decoded at reduced size with ``Image.draft()`` (the
DCT scaling picks the smallest size not below the model input), which is what keeps decoding
cheap next to inference. The EXIF orientation is applied to the decoded pixels (a photo taken
with the camera on its side is classified upright: sideways, a leopard reads as a fountain),
while each `Frame` keeps the original file bytes in ``image`` so the store saves exactly what
was recorded. A corrupt or truncated file raises `BadFrameError` for that
frame, naming the file.

    camera = ReplayCamera(discover(["demo/bursts"]), input_size=(96, 96))
    for frame in camera.burst(n=5, interval_s=0.5): ...
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from camtrap.core.types import Frame
from camtrap.errors import BadFrameError, CameraError
from camtrap.sim.bursts import RecordedBurst

ORIENTATION = 0x0112  # the EXIF tag; 5-8 turn the picture by 90 degrees
Pace = Callable[[float], object]  # waits the given seconds between frames (sim); None: no wait


def decode_frame(
    data: bytes, index: int, t: float, name: str, draft_size: tuple[int, int] | None
) -> Frame:
    """Decode one recorded frame; ``draft_size`` = (w, h) lets JPEG decode at reduced size."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            turned = img.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8)
            if draft_size is not None:
                w, h = draft_size
                img.draft("RGB", (h, w) if turned else (w, h))
            upright = ImageOps.exif_transpose(img) or img
            pixels = np.asarray(upright.convert("RGB"), dtype=np.uint8)
    except (
        OSError,
        SyntaxError,
        ValueError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
    ) as e:
        raise BadFrameError(f"{name}: cannot decode: {_reason(e)}") from None
    return Frame(index=index, t=t, pixels=pixels, name=Path(name).name, image=data)


def _reason(e: Exception) -> str:
    """Pillow's reason, without the in-memory file's address (records stay reproducible)."""
    if isinstance(e, UnidentifiedImageError):
        return "not an image format Pillow reads"
    return str(e)


def read_frame(path: Path, index: int, t: float, draft_size: tuple[int, int] | None) -> Frame:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BadFrameError(f"{path}: cannot read: {e}") from None
    return decode_frame(data, index, t, str(path), draft_size)


class ReplayCamera:
    """Serves recorded bursts in order, one per ``burst()`` call."""

    def __init__(
        self,
        bursts: Sequence[RecordedBurst],
        input_size: tuple[int, int] | None = None,
        pace: Pace | None = None,
    ) -> None:
        self._bursts = list(bursts)
        self._draft = input_size
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
                yield read_frame(path, i, i * recorded.meta.frame_interval_s, self._draft)
        finally:
            self.busy = False
