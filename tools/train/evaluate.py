"""Evaluate a .tflite classifier with LiteRT: frame-level metrics and burst-level verdicts.

No TensorFlow: the model runs through LiteRT with the service's own preprocessing
(``camtrap.core.preprocess``) and burst rule (``camtrap.core.verdict``), so the numbers in a
model card are the numbers the trap will see.

    python -m tools.train evaluate models/camtrap-demo --bursts out/eval --update-card
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from camtrap.core.preprocess import InputSpec, as_probabilities, dequantize, resize, to_input
from camtrap.core.targets import resolve_targets
from camtrap.core.verdict import Rule, burst_score
from camtrap.datasets import decode_image, is_image
from camtrap.errors import UsageError


class TfliteClassifier:
    """A LiteRT interpreter with int8/uint8/float input handling; ``probs(pixels)``."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interp = Interpreter(model_path=str(path), num_threads=threads)
        except (ValueError, RuntimeError) as e:
            raise UsageError(f"{path}: not a loadable TFLite model ({e})") from None
        self.interp.allocate_tensors()
        inp = self.interp.get_input_details()[0]
        out = self.interp.get_output_details()[0]
        _, h, w, _ = (int(v) for v in inp["shape"])
        scale, zero = inp["quantization"]
        self.spec = InputSpec(w, h, np.dtype(inp["dtype"]).name, float(scale), int(zero))  # type: ignore[arg-type]
        self.input_index = inp["index"]
        self.output_index = out["index"]
        self.out_quant = (float(out["quantization"][0]), int(out["quantization"][1]))
        self.classes = int(out["shape"][-1])

    def probs(self, pixels: np.ndarray) -> np.ndarray:
        """Class probabilities for an H x W x 3 uint8 frame of any size (squashed)."""
        x = to_input(resize(pixels, self.spec.size, "squash"), self.spec)
        self.interp.set_tensor(self.input_index, x)
        self.interp.invoke()
        raw = self.interp.get_tensor(self.output_index)[0]
        return as_probabilities(dequantize(raw, *self.out_quant))

    def probs_many(self, images: np.ndarray) -> np.ndarray:
        if not len(images):
            return np.zeros((0, self.classes), np.float32)
        return np.stack([self.probs(im) for im in images])


# ---------------------------------------------------------------------------------------------
# Frame-level metrics


def frame_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict:
    """Accuracy, per-class precision/recall/support and the confusion matrix (rows: truth)."""
    n = len(labels)
    cm = np.zeros((n, n), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        cm[int(t), int(p)] += 1
    per_class = {}
    for i, label in enumerate(labels):
        tp, predicted, actual = int(cm[i, i]), int(cm[:, i].sum()), int(cm[i, :].sum())
        per_class[label] = {
            "precision": round(tp / predicted, 4) if predicted else None,
            "recall": round(tp / actual, 4) if actual else None,
            "support": actual,
        }
    total = int(cm.sum())
    return {
        "images": total,
        "accuracy": round(float(np.trace(cm)) / total, 4) if total else None,
        "per_class": per_class,
        "confusion": {"labels": list(labels), "rows": "true", "matrix": cm.tolist()},
    }


def agreement(a: np.ndarray, b: np.ndarray) -> float | None:
    """Share of images where two probability arrays have the same top-1 class."""
    if not len(a):
        return None
    return round(float(np.mean(np.argmax(a, axis=1) == np.argmax(b, axis=1))), 4)


# ---------------------------------------------------------------------------------------------
# Burst-level evaluation


@dataclass(frozen=True)
class BurstResult:
    source: str
    label: str
    score: float
    hit: bool
    top_label: str
    error: str | None = None  # a frame failed to decode: the burst is an error, never a hit


def find_bursts(root: Path) -> list[tuple[Path, str, list[Path]]]:
    """(directory, label, frames) of every labelled burst under ``root``."""
    found = []
    for meta in sorted(root.rglob("burst.json")):
        try:
            label = json.loads(meta.read_text()).get("label")
        except (OSError, ValueError) as e:
            raise UsageError(f"{meta}: unreadable burst.json ({e})") from None
        frames = sorted(p for p in meta.parent.iterdir() if is_image(p))
        if label is not None and frames:
            found.append((meta.parent, str(label), frames))
    if not found:
        raise UsageError(f"{root}: no labelled bursts (burst.json with a label) found")
    return found


def evaluate_bursts(
    clf: TfliteClassifier,
    labels: Sequence[str],
    bursts: Sequence[tuple[Path, str, list[Path]]],
    targets: Sequence[str],
    rule: Rule,
) -> list[BurstResult]:
    """Run every frame of every burst and apply the burst rule to the target scores."""
    tgt = resolve_targets(targets, labels)
    results = []
    for bdir, label, frames in bursts:
        try:
            probs = [clf.probs(decode_image(f, clf.spec.size)) for f in frames]
        except (OSError, ValueError) as e:
            results.append(BurstResult(str(bdir), label, 0.0, False, "", f"bad frame: {e}"))
            continue
        score = burst_score(rule, [tgt.score(p) for p in probs])
        top = int(np.argmax(np.max(np.stack(probs), axis=0)))
        results.append(BurstResult(str(bdir), label, score, score >= rule.threshold, labels[top]))
    return results


def burst_summary(
    results: Sequence[BurstResult], targets: Sequence[str], labels: Sequence[str], rule: Rule
) -> dict:
    """Burst-level precision and recall of "target present", per label counts of hits."""
    tgt = resolve_targets(targets, labels)
    target_labels = {labels[i] for i in tgt.indices}
    positive = [r.label in target_labels for r in results]
    tp = sum(p and r.hit for p, r in zip(positive, results, strict=True))
    fp = sum((not p) and r.hit for p, r in zip(positive, results, strict=True))
    fn = sum(p and not r.hit for p, r in zip(positive, results, strict=True))
    per_label: dict[str, dict[str, int]] = {}
    for r in results:
        row = per_label.setdefault(r.label, {"bursts": 0, "hits": 0})
        row["bursts"] += 1
        row["hits"] += int(r.hit)
    return {
        "rule": rule.describe(),
        "bursts": len(results),
        "errors": sum(r.error is not None for r in results),
        "target_bursts": sum(positive),
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "per_label": dict(sorted(per_label.items())),
    }
