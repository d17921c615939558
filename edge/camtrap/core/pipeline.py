"""One burst through the pipeline: frames -> preprocess -> classify -> sequential verdict.

Pure composition over the ports: the camera's frame iterator and the classifier are passed in.
The same objects run in the service, in `camtrap replay` and in `camtrap bench`.

When the rule allows early exit, the frame iterator is closed (``generator.close()``) as soon as
the verdict is settled, which stops the camera. A frame that cannot be read (`BadFrameError`) or
a camera failure (`CameraError`) ends the burst with verdict ``error`` and the reason; it never
raises out of the burst loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from camtrap.core.ports import Camera, Classifier
from camtrap.core.preprocess import ResizeMode, resize
from camtrap.core.targets import Targets
from camtrap.core.types import Frame, Verdict
from camtrap.core.verdict import Rule, Tally
from camtrap.errors import BadFrameError, CameraError


@dataclass(frozen=True)
class Detector:
    """A loaded classifier with its targets and burst rule: everything a burst verdict needs."""

    classifier: Classifier
    targets: Targets
    rule: Rule
    resize: ResizeMode = "squash"
    model: str = ""  # provenance, "name@sha256-prefix"

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        """The frame resized to the model's input size (quantizing is the classifier's job)."""
        return resize(pixels, self.classifier.input_size, self.resize)

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        return self.classifier.classify(self.prepare(pixels))


@dataclass(frozen=True)
class BurstResult:
    verdict: Verdict
    frames: tuple[Frame, ...]  # the frames read, in order (to be stored)
    target_label: str  # the target label with the highest burst probability
    target: str = ""  # the target that scored: a group's name, or the plain target's

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.frames)


def classify_burst(frames: Iterable[Frame], n: int, detector: Detector) -> BurstResult:
    """Classify up to ``n`` frames and decide the burst; stops early once settled."""
    tally = Tally(detector.rule, n, detector.targets)
    kept: list[Frame] = []
    it = iter(frames)
    try:
        while len(kept) < n:
            frame = _next_frame(it)
            if isinstance(frame, str):
                tally = tally.fail(frame)
                break
            if frame is None:
                break
            kept.append(frame)
            tally = tally.add(detector.probabilities(frame.pixels))
            if detector.rule.early_exit and tally.settled is not None:
                break
    finally:
        _close(it)
    name, label = tally.target
    return BurstResult(tally.verdict(), tuple(kept), label, name)


def capture(camera: Camera, n: int, interval_s: float) -> Iterator[Frame]:
    """The camera's burst, lazily: a failure at the call itself surfaces on the first frame
    (so `classify_burst` turns it into an ``error`` verdict like any frame failure)."""
    yield from camera.burst(n, interval_s)


def _next_frame(it: Iterator[Frame]) -> Frame | str | None:
    """The next frame, None at the end, or the reason it could not be read."""
    try:
        return next(it)
    except StopIteration:
        return None
    except (BadFrameError, CameraError) as e:
        return str(e) or type(e).__name__


def _close(it: Iterator[Frame]) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        close()
