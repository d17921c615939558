"""A classification head over image embeddings, trained and run in numpy. Pure.

`camtrap adapt` embeds a survey team's labelled photos with an int8 embedding extractor (the
penultimate layer of an ImageNet MobileNet) and fits this head on them: multinomial logistic
regression, class-balanced (every class weighs the same in the loss however many photos it
has, so 20 leopards against 400 empty frames still count), with an L2 penalty. The embedding
is first scaled to unit length (exposure and IR flash change its size more than its direction),
then standardised with the training set's mean and spread. Training is full-batch Nesterov
gradient descent with the step from the loss's Lipschitz bound: deterministic, no learning rate
to tune, and a second or two for a few hundred photos on a Pi.

Inference is one (D x C) matrix product per frame.

>>> rng = np.random.default_rng(0)
>>> x = np.vstack([rng.normal(0, 1, (20, 8)), rng.normal(0, 1, (20, 8)) + 3])
>>> head = train_head(x, np.repeat([0, 1], 20), ("empty", "leopard"))
>>> int(np.argmax(head.probabilities(x[-1])))
1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SCHEMA = "camtrap-head/1"
DEFAULT_L2 = 1e-2
_EPS = 1e-6


class HeadError(ValueError):
    """A head file or training set that cannot be used (names the key or the problem)."""


@dataclass(frozen=True, eq=False)
class Head:
    """Logistic regression over unit-length, standardised embeddings."""

    labels: tuple[str, ...]
    mean: np.ndarray  # (D,) of the unit-length training embeddings
    scale: np.ndarray  # (D,) their spread (floored, so constant features do not blow up)
    weights: np.ndarray  # (D, C)
    bias: np.ndarray  # (C,)

    def __post_init__(self) -> None:
        d, c = self.weights.shape if self.weights.ndim == 2 else (0, 0)
        if c != len(self.labels) or c < 2:
            raise HeadError(f"weights {self.weights.shape} do not fit {len(self.labels)} labels")
        if self.mean.shape != (d,) or self.scale.shape != (d,) or self.bias.shape != (c,):
            raise HeadError("mean, scale and bias must match the weights")
        if not all(np.all(np.isfinite(a)) for a in (self.mean, self.scale, self.weights)):
            raise HeadError("head parameters must be finite")

    @property
    def dims(self) -> int:
        return int(self.weights.shape[0])

    def features(self, embeddings: np.ndarray) -> np.ndarray:
        return (unit(embeddings) - self.mean) / self.scale

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        return self.features(embeddings) @ self.weights + self.bias

    def probabilities(self, embedding: np.ndarray) -> np.ndarray:
        """Class probabilities (float32, label order) of one embedding."""
        e = np.asarray(embedding, np.float32).reshape(-1)
        if e.shape[0] != self.dims:
            raise HeadError(f"embedding has {e.shape[0]} values, the head takes {self.dims}")
        return softmax_rows(self.logits(e[np.newaxis]))[0].astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """What ``numpy.savez`` stores (no pickles: labels as a unicode array)."""
        return {
            "schema": np.array(SCHEMA),
            "labels": np.array(self.labels),
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
        }


def head_from_arrays(arrays: Mapping[str, np.ndarray], source: str) -> Head:
    """A `Head` from ``numpy.load`` arrays; `HeadError` names the file and key."""
    keys = ("schema", "labels", "mean", "scale", "weights", "bias")
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise HeadError(f"{source}: {missing[0]}: missing")
    if str(arrays["schema"]) != SCHEMA:
        raise HeadError(f"{source}: schema: must be {SCHEMA!r}, got {str(arrays['schema'])!r}")
    try:
        return Head(
            labels=tuple(str(x) for x in arrays["labels"].reshape(-1)),
            mean=np.asarray(arrays["mean"], np.float32),
            scale=np.asarray(arrays["scale"], np.float32),
            weights=np.asarray(arrays["weights"], np.float32),
            bias=np.asarray(arrays["bias"], np.float32),
        )
    except HeadError as e:
        raise HeadError(f"{source}: {e}") from None


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (an all-zero row stays zero)."""
    x = np.asarray(x, np.float64)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, _EPS)


def softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def class_weights(y: np.ndarray, classes: int) -> np.ndarray:
    """Per-sample weights that give every class the same total weight (mean weight 1)."""
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    per_class = np.where(counts > 0, len(y) / (classes * np.maximum(counts, 1)), 0.0)
    return per_class[y]


def train_head(
    embeddings: np.ndarray,
    y: np.ndarray,
    labels: Sequence[str],
    l2: float = DEFAULT_L2,
    iterations: int = 400,
) -> Head:
    """Fit the head: class-balanced softmax regression with an L2 penalty on the weights."""
    x = np.asarray(embeddings, np.float64)
    y = np.asarray(y, np.int64)
    c = len(labels)
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise HeadError(f"want N x D embeddings and N labels, got {x.shape} and {y.shape}")
    if c < 2 or len(set(y.tolist())) < 2 or y.min() < 0 or y.max() >= c:
        raise HeadError(f"need examples of at least 2 of the {c} labels")
    u = unit(x)
    mean, scale = u.mean(axis=0), np.maximum(u.std(axis=0), 1e-3)
    z = (u - mean) / scale
    w, b = _fit(z, y, class_weights(y, c), c, l2, iterations)
    return Head(tuple(labels), mean.astype(np.float32), scale.astype(np.float32), w, b)


def _fit(
    z: np.ndarray, y: np.ndarray, sw: np.ndarray, c: int, l2: float, iterations: int
) -> tuple[np.ndarray, np.ndarray]:
    n, d = z.shape
    onehot = np.eye(c)[y]
    sw = sw / sw.sum()
    # The weighted softmax loss is (1/2)·||Z||²-smooth in (W, b) with Z = [z, 1] rows weighted
    # by sw: that bound gives a step that always converges, whatever the data.
    zb = np.hstack([z, np.ones((n, 1))]) * np.sqrt(sw)[:, np.newaxis]
    step = 1.0 / (0.5 * np.linalg.norm(zb, 2) ** 2 + l2)
    theta = np.zeros((d + 1, c))
    prev = theta.copy()
    for t in range(1, iterations + 1):
        look = theta + (t - 1) / (t + 2) * (theta - prev)
        prev = theta
        theta = look - step * _gradient(look, z, onehot, sw, l2)
    return theta[:-1].astype(np.float32), theta[-1].astype(np.float32)


def _gradient(
    theta: np.ndarray, z: np.ndarray, onehot: np.ndarray, sw: np.ndarray, l2: float
) -> np.ndarray:
    w, b = theta[:-1], theta[-1]
    err = (softmax_rows(z @ w + b) - onehot) * sw[:, np.newaxis]
    grad = np.vstack([z.T @ err + l2 * w, err.sum(axis=0)])
    return grad


def loss(head: Head, embeddings: np.ndarray, y: np.ndarray) -> float:
    """Class-balanced mean cross-entropy of the head on labelled embeddings."""
    p = softmax_rows(head.logits(np.asarray(embeddings, np.float64)))
    sw = class_weights(np.asarray(y), len(head.labels))
    picked = np.log(np.maximum(p[np.arange(len(y)), y], 1e-12))
    return float(-(sw * picked).sum() / sw.sum())
