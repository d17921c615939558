"""One burst through the pipeline: frames -> regions -> crops -> classify -> sequential verdict.

Pure composition over the ports: the camera's frame iterator and the classifier are passed in.
The same objects run in the service, in `camtrap replay` and in `camtrap bench`.

With regions on (`Detector.regions`), each frame is judged by its regions (`core.regions`: the
full frame first, then motion boxes or, as the fallback, tiles), each cut from the frame at the
resolution it arrived in (`core.crops`) and classified; the frame's score is the best target
score over its regions, and the winning region goes into its `FrameScore.where`. Motion for
frame i compares it with the frames read so far and the next one (two for the first frame; the
camera captures frame i+1 while frame i is classified), so a frame's regions never depend on
whether early exit stopped the burst later: early exit decides exactly as the full burst.
Under ``k_of_n`` with early exit a frame also stops at the first region whose score reaches
the threshold (the decision only counts frames at or over it).

When the rule allows early exit, the frame iterator is closed (``generator.close()``) as soon as
the verdict is settled, which stops the camera. A frame that cannot be read (`BadFrameError`) or
a camera failure (`CameraError`) ends the burst with verdict ``error`` and the reason; it never
raises out of the burst loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
from PIL import Image

from camtrap.core.crops import cut
from camtrap.core.motion import reduced
from camtrap.core.ports import Camera, Classifier
from camtrap.core.preprocess import ResizeMode, resize
from camtrap.core.regions import FULL, Proposal, Region, RegionParams, Thumb, propose, thumbnail
from camtrap.core.targets import Targets
from camtrap.core.types import Frame, Verdict, Where
from camtrap.core.verdict import FULL_FRAME, Rule, Tally
from camtrap.errors import BadFrameError, CameraError

T = TypeVar("T")


@dataclass(frozen=True)
class Detector:
    """A loaded classifier with its targets and burst rule: everything a burst verdict needs."""

    classifier: Classifier
    targets: Targets
    rule: Rule
    resize: ResizeMode = "squash"
    model: str = ""  # provenance, "name@sha256-prefix"
    regions: RegionParams | None = None  # None: every frame classified whole

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        """The frame resized to the model's input size (quantizing is the classifier's job)."""
        return resize(pixels, self.classifier.input_size, self.resize)

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        return self.classifier.classify(self.prepare(pixels))


class Meter(Protocol):
    """Times the stages of a frame (`camtrap bench`); the pipeline itself never reads a clock."""

    def timed(self, stage: str, fn: Callable[..., T], *args: Any) -> T: ...


class _Untimed:
    def timed(self, stage: str, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)


UNTIMED: Meter = _Untimed()


@dataclass(frozen=True)
class BurstResult:
    verdict: Verdict
    frames: tuple[Frame, ...]  # the frames read, in order (to be stored)
    target_label: str  # the target label with the highest burst probability
    target: str = ""  # the target that scored: a group's name, or the plain target's

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.frames)


def classify_burst(
    frames: Iterable[Frame], n: int, detector: Detector, meter: Meter = UNTIMED
) -> BurstResult:
    """Classify up to ``n`` frames and decide the burst; stops early once settled."""
    tally = Tally(detector.rule, n, detector.targets)
    reader = _Reader(iter(frames), n, detector, meter)
    try:
        for i in range(n):
            frame = reader.frame(i)
            if isinstance(frame, str):
                tally = tally.fail(frame)
                break
            if frame is None:
                break
            images = reader.images.pop(i, None)
            probs, where = judge_frame(detector, frame, reader.thumbs, i, meter, images)
            tally = tally.add(probs, where)
            if detector.rule.early_exit and tally.settled is not None:
                break
    finally:
        _close(reader.it)
    name, label = tally.target
    return BurstResult(tally.verdict(), tuple(reader.kept), label, name)


@dataclass
class _Reader:
    """Reads frames as the burst needs them: with regions on, ahead of the frame judged (its
    motion compares it with the next frames too: `context`), with their motion thumbnails."""

    it: Iterator[Frame]
    n: int
    detector: Detector
    meter: Meter
    kept: list[Frame] = field(default_factory=list)
    thumbs: list[Thumb] = field(default_factory=list)
    images: dict[int, tuple[Image.Image, Image.Image]] = field(default_factory=dict)  # not judged
    failure: str | None = None
    ended: bool = False

    def frame(self, i: int) -> Frame | str | None:
        """Frame ``i``, or the reason a frame before it could not be read, or None (ended)."""
        want = min(self.n, context(i) if self.detector.regions is not None else i + 1)
        while len(self.kept) < want and not self.ended and not self.failure:
            got = _next_frame(self.it)
            if isinstance(got, str):
                self.failure = got
            elif got is None:
                self.ended = True
            else:
                self.kept.append(got)
                if self.detector.regions is not None:
                    self._thumb(got)
        if i < len(self.kept):
            return self.kept[i]
        return self.failure

    def _thumb(self, frame: Frame) -> None:
        """The frame's motion thumbnail, from the Pillow image its crops will be cut from and
        its whole-factor reduction that the full frame's input comes from (made once; kept
        until the frame is judged, at most `context` frames ahead)."""
        assert self.detector.regions is not None
        width = self.detector.regions.motion_width
        image = self.meter.timed("crop", Image.fromarray, frame.pixels)
        side = max(width, *self.detector.classifier.input_size)
        small = self.meter.timed("crop", reduced, image, side)
        self.images[len(self.kept) - 1] = (image, small)
        self.thumbs.append(self.meter.timed("motion", thumbnail, small, width, image.size))


def context(i: int) -> int:
    """How many frames motion compares frame ``i`` with (itself included): those read so far
    and the next one, and for the first frame the next two (with two frames an animal's old
    and new places look alike; a third one tells them apart)."""
    return max(i + 2, 3)


def judge_frame(
    detector: Detector,
    frame: Frame,
    thumbs: Sequence[Thumb],
    index: int,
    meter: Meter = UNTIMED,
    images: tuple[Image.Image, Image.Image] | None = None,
) -> tuple[np.ndarray, Where]:
    """The class probabilities of a frame's winning region (the best target score), and where
    it was. The full frame comes first; under ``k_of_n`` with early exit the frame stops at the
    first region that reaches the threshold (a frame its full view settles needs no motion:
    its record has no region reason)."""
    if detector.regions is None:  # whole frames, exactly as before regions existed
        return detector.probabilities(frame.pixels), FULL_FRAME
    if images is None:  # made once: every region cuts the frame, the full one its reduction
        image = meter.timed("crop", Image.fromarray, frame.pixels)
        images = (image, image)
    stop = detector.rule.early_exit and detector.rule.name == "k_of_n"
    judged = _Judged(detector, images, meter)
    if judged.look(Region(FULL, "full")) and stop:
        return judged.where(None)
    proposal = meter.timed("motion", _proposal, detector, frame, thumbs, index)
    for region in proposal.regions[1:]:  # the first is the full frame, judged above
        if judged.look(region) and stop:
            break
    return judged.where(proposal.reason)


@dataclass
class _Judged:
    """The regions of one frame classified so far, and the best of them."""

    detector: Detector
    images: tuple[Image.Image, Image.Image]  # the frame, and its reduction (the full view)
    meter: Meter
    best: tuple[float, np.ndarray, Region] | None = None
    classified: int = 0

    def look(self, region: Region) -> bool:
        """Classify ``region``; whether its score reaches the rule's threshold."""
        det, size = self.detector, self.detector.classifier.input_size
        source = self.images[1] if region.source == "full" else self.images[0]
        pixels = self.meter.timed("crop", cut, source, region, size, det.resize)
        probs = self.meter.timed("invoke", det.classifier.classify, pixels)
        self.classified += 1
        score = det.targets.score(probs)
        if self.best is None or score > self.best[0]:
            self.best = (score, probs, region)
        return score >= det.rule.threshold

    def where(self, reason: str | None) -> tuple[np.ndarray, Where]:
        assert self.best is not None  # the full frame is always looked at first
        _, probs, region = self.best
        box = (region.box.x, region.box.y, region.box.w, region.box.h)
        return probs, Where(box, region.source, self.classified, reason)


def _proposal(detector: Detector, frame: Frame, thumbs: Sequence[Thumb], index: int) -> Proposal:
    if detector.regions is None:
        return Proposal((Region(FULL, "full"),))
    h, w = frame.pixels.shape[:2]
    iw, ih = detector.classifier.input_size
    if w <= iw and h <= ih:  # nothing to gain: a crop would be enlarged, not sharper
        return Proposal((Region(FULL, "full"),), "frame not larger than the model input")
    try:
        return propose(thumbs, index, detector.regions)
    except (ValueError, ArithmeticError) as e:  # a frame no stage foresaw: judge it whole
        return Proposal((Region(FULL, "full"),), f"regions failed ({e}): full frame")


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
