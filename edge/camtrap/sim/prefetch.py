"""The `Camera` port over recorded bursts, decoding ahead on a thread.

`camtrap replay` spends its time in two places: decoding JPEGs (Pillow) and invoking the model
(LiteRT); both release the GIL. `PrefetchCamera` decodes the next frames, across burst
boundaries, on one background thread while the model classifies the current one, as the
camera's own capture overlaps classification in the field. The queue is bounded (``depth``
frames), so memory stays bounded at any frame size; when the pipeline stops a burst early
(`generator.close()`), the frames of that burst not yet decoded are skipped.

Frames and failures are exactly those of `ReplayCamera` (`read_frame`: the same decode, the same
`BadFrameError` naming the file), in the same order.

    camera = PrefetchCamera(discover(["demo/bursts"]), decode_size=(224, 224))
    try:
        for recorded in bursts:
            frames = camera.burst(recorded.n, 0.0)
            ...
    finally:
        camera.stop()
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from camtrap.core.types import Frame
from camtrap.errors import BadFrameError, CameraError
from camtrap.sim.bursts import RecordedBurst
from camtrap.sim.replay_camera import MAX_PIXELS, DecodeSize, read_frame

DEPTH = 3  # frames decoded ahead: one is enough to overlap; a few absorb uneven decode times
_POLL_S = 0.1  # how often a blocked producer looks whether it was stopped


@dataclass(frozen=True)
class _Item:
    burst: int
    frame: Frame | None = None  # None: the end of this burst
    error: BadFrameError | None = None


class PrefetchCamera:
    """Serves recorded bursts in order, one per ``burst()`` call, decoded ahead on a thread."""

    def __init__(
        self,
        bursts: Sequence[RecordedBurst],
        decode_size: tuple[int, int] | DecodeSize | None = None,
        depth: int = DEPTH,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        if depth < 1:
            raise ValueError(f"prefetch depth must be >= 1, got {depth}")
        self._bursts = list(bursts)
        self._size = decode_size
        self._max_pixels = max_pixels
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._abandoned = -1  # bursts up to this index are no longer wanted
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.served = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._produce, name="prefetch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the decoder thread (bounded wait) and drop what it decoded."""
        self._stop.set()
        self._drain()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def counters(self) -> dict[str, int]:
        return {}

    @property
    def exhausted(self) -> bool:
        return self.served >= len(self._bursts)

    def burst(self, n: int, interval_s: float) -> Iterator[Frame]:
        """Up to ``n`` frames of the next recorded burst (``interval_s`` is not paced)."""
        if self.exhausted:
            raise CameraError(f"no recorded burst left (all {len(self._bursts)} served)")
        self.start()
        index = self.served
        self.served += 1
        return self._frames(index, n)

    def _frames(self, index: int, n: int) -> Iterator[Frame]:
        given = 0
        try:
            while given < n:
                item = self._next_of(index)
                if item.error is not None:
                    raise item.error
                if item.frame is None:
                    return
                given += 1
                yield item.frame
        finally:
            with self._lock:
                self._abandoned = max(self._abandoned, index)

    def _next_of(self, index: int) -> _Item:
        """The next item of burst ``index``, skipping what is left of earlier bursts."""
        while True:
            try:
                item = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if self._thread is None or not self._thread.is_alive():
                    raise CameraError("the prefetch thread stopped") from None
                continue
            if item.burst == index:
                return item

    # the producer (background thread) -----------------------------------------------------

    def _produce(self) -> None:
        for index, recorded in enumerate(self._bursts):
            for item in self._items(index, recorded):
                if not self._put(item):
                    return

    def _items(self, index: int, recorded: RecordedBurst) -> Iterator[_Item]:
        if recorded.problem is not None:
            yield _Item(index, error=BadFrameError(recorded.problem))
            return
        for i, path in enumerate(recorded.frames):
            with self._lock:
                if index <= self._abandoned:  # the pipeline stopped this burst early
                    return
            try:
                t = i * recorded.meta.frame_interval_s
                frame = read_frame(path, i, t, self._size, self._max_pixels)
            except BadFrameError as e:
                yield _Item(index, error=e)
                return
            yield _Item(index, frame)
        yield _Item(index)

    def _put(self, item: _Item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return
