"""Test helpers for the edge pipeline: recorded bursts written with Pillow, a colour classifier.

`ColourClassifier` is a behaving fake at the Classifier port: a frame's class probabilities are
its mean red, green and blue, normalised, so a test states a frame's scores by its colour.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from camtrap.core.pipeline import Detector
from camtrap.core.targets import resolve_targets
from camtrap.core.verdict import Rule

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
LABELS = ("leopard, Panthera pardus", "deer", "empty")  # red, green, blue


class ColourClassifier:
    labels: Sequence[str] = LABELS
    input_size: tuple[int, int] = (8, 8)

    def __init__(self) -> None:
        self.calls = 0

    def classify(self, pixels: np.ndarray) -> np.ndarray:
        assert pixels.shape == (8, 8, 3)
        self.calls += 1
        means = pixels.reshape(-1, 3).mean(axis=0).astype(np.float32) + 1e-3
        return means / means.sum()


def detector(rule: Rule | None = None, targets: Sequence[str] = ("leopard",)) -> Detector:
    rule = rule or Rule("k_of_n", k=2, threshold=0.5)
    clf = ColourClassifier()
    return Detector(clf, resolve_targets(targets, clf.labels), rule, "squash", "colour@00000000")


def burst_json(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "schema": "camtrap-burst/1",
        "device_id": "sim-01",
        "trigger_time": "2026-11-20T03:12:45Z",
        "frame_interval_s": 0.5,
        "pir_pulses": [0.0],
    }
    raw.update(over)
    return raw


def write_burst(
    directory: Path,
    colours: Sequence[tuple[int, int, int]],
    label: str | None = None,
    fmt: str = "jpg",
    size: tuple[int, int] = (64, 48),
    **meta: object,
) -> Path:
    """A burst directory with one solid-colour frame per colour."""
    directory.mkdir(parents=True, exist_ok=True)
    extra = {"label": label} if label is not None else {}
    (directory / "burst.json").write_text(json.dumps(burst_json(**extra, **meta)))
    for i, colour in enumerate(colours):
        Image.new("RGB", size, colour).save(directory / f"{i:03d}.{fmt}")
    return directory


def corrupt(path: Path) -> None:
    """Truncate an image file to half its bytes."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
