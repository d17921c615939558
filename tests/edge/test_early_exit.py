"""Early exit through the real burst loop (`core.pipeline.classify_burst`): the camera is never
read past the frame that settles the verdict, the decision always equals the full-burst rule,
and the calibration simulation predicts exactly the frames the pipeline classifies."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from camtrap.core.early_exit import early_decision, full_decision
from camtrap.core.operating_point import ScoredBurst
from camtrap.core.pipeline import Detector, classify_burst
from camtrap.core.targets import resolve_targets
from camtrap.core.types import Frame
from camtrap.core.verdict import Rule, settle

LABELS = ("leopard", "empty")
SIZE = 4


class PixelClassifier:
    """A behaving fake: the leopard probability is the frame's first pixel value / 255."""

    labels: Sequence[str] = LABELS
    input_size: tuple[int, int] = (SIZE, SIZE)

    def classify(self, pixels: np.ndarray) -> np.ndarray:
        p = float(pixels[0, 0, 0]) / 255.0
        return np.array([p, 1.0 - p], dtype=np.float32)


@dataclass
class RecordingCamera:
    """Yields frames whose pixels encode the given scores; records every frame handed out."""

    levels: Sequence[int]  # 0..255 per frame
    read: list[int] = field(default_factory=list)
    closed: bool = False

    def burst(self) -> Iterator[Frame]:
        try:
            for i, level in enumerate(self.levels):
                self.read.append(i)
                pixels = np.full((SIZE, SIZE, 3), level, dtype=np.uint8)
                yield Frame(index=i, t=0.5 * i, pixels=pixels, name=f"{i:03d}.jpg")
        finally:
            self.closed = True


def detector(rule: Rule) -> Detector:
    return Detector(PixelClassifier(), resolve_targets(["leopard"], LABELS), rule)


def frame_scores(levels: Sequence[int]) -> tuple[float, ...]:
    """The target scores the pipeline sees (float32 probabilities, as the classifier gives)."""
    return tuple(float(np.float32(v / 255.0)) for v in levels)


rules = st.builds(
    Rule,
    name=st.sampled_from(("k_of_n", "mean_top_k")),
    k=st.integers(1, 4),
    threshold=st.integers(0, 255).map(lambda v: v / 255.0),
)
bursts = st.lists(st.integers(0, 255), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(rule=rules, levels=bursts)
def test_early_exit_never_reads_a_frame_after_the_decision(rule: Rule, levels: list[int]) -> None:
    cam = RecordingCamera(levels)
    result = classify_burst(cam.burst(), len(levels), detector(rule))
    used = result.verdict.frames_classified
    assert cam.read == list(range(used))  # nothing read past the settling frame
    assert cam.closed  # the capture was told to stop
    scores = frame_scores(levels)
    if used < len(levels):  # it stopped early: the frame before could not have settled it
        assert settle(rule, scores[:used], len(levels)) is not None
        assert used == 1 or settle(rule, scores[: used - 1], len(levels)) is None


@settings(max_examples=300, deadline=None)
@given(rule=rules, levels=bursts)
def test_early_exit_decides_as_the_full_burst_rule(rule: Rule, levels: list[int]) -> None:
    early = classify_burst(RecordingCamera(levels).burst(), len(levels), detector(rule))
    full_cam = RecordingCamera(levels)
    no_exit = replace(rule, early_exit=False)
    full = classify_burst(full_cam.burst(), len(levels), detector(no_exit))
    assert full_cam.read == list(range(len(levels)))
    assert early.verdict.decision == full.verdict.decision
    burst = ScoredBurst(frame_scores(levels), False, len(levels))
    assert (full.verdict.decision == "hit") == full_decision(rule, burst)


@settings(max_examples=300, deadline=None)
@given(rule=rules, levels=bursts)
def test_simulation_predicts_the_frames_the_pipeline_classifies(
    rule: Rule, levels: list[int]
) -> None:
    result = classify_burst(RecordingCamera(levels).burst(), len(levels), detector(rule))
    hit, used = early_decision(rule, ScoredBurst(frame_scores(levels), True, len(levels)))
    assert used == result.verdict.frames_classified
    assert hit == (result.verdict.decision == "hit")


def test_two_of_five_stops_after_two_high_frames() -> None:
    cam = RecordingCamera([250, 240, 10, 10, 10])
    result = classify_burst(cam.burst(), 5, detector(Rule("k_of_n", 2, 0.5)))
    assert result.verdict.decision == "hit"
    assert cam.read == [0, 1] and cam.closed


def test_two_of_five_stops_once_a_hit_is_out_of_reach() -> None:
    cam = RecordingCamera([10, 10, 10, 10, 250])
    result = classify_burst(cam.burst(), 5, detector(Rule("k_of_n", 2, 0.5)))
    assert result.verdict.decision == "miss"
    assert cam.read == [0, 1, 2, 3]  # after 4 lows, one frame left cannot make 2 highs
