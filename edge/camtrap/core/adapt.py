"""Site adaptation (`camtrap adapt`): from embedded labelled photos to a head and its threshold.

Pure: embeddings, labels and the train/val/test split in (the split is the training toolkit's,
by location or sequence, `camtrap.datasets.split_samples`), a fitted `Head`, the operating
point chosen on the validation split and the figures on the test split out.

1. The L2 penalty is chosen on the validation split (the class-balanced log loss over a small
   grid), with the head fitted on the training split only.
2. The threshold is chosen on the validation split with `camtrap.core.calibrate.choose`
   (``k_of_n``, k = 1: an animal in one frame of a burst is enough), for the goal asked.
3. The test split, never used for 1 or 2, gives the recall and false hits reported and
   written in the card (``metrics.held_out``), each with its 95 % interval.

`learning_curve` refits on growing subsets of the training split and scores the test split,
for the curve in docs/models.md (how many photos per class a survey team needs).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from camtrap.core.calibrate import assess, choose
from camtrap.core.head import Head, loss, train_head
from camtrap.core.operating_point import FieldRates, Goal, OperatingPoint, ScoredBurst
from camtrap.core.verdict import Rule

L2_GRID = (1e-3, 1e-2, 1e-1, 1.0)
DEFAULT_RATES = FieldRates()


@dataclass(frozen=True, eq=False)
class Part:
    """One split of embedded photos: embeddings, label indices and the burst of each photo."""

    x: np.ndarray  # N x D
    y: np.ndarray  # N label indices
    groups: tuple[str, ...]  # sequence of each photo (frames of one burst share it)

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True, eq=False)
class Adapted:
    head: Head
    l2: float
    target: int  # label index of the target
    chosen: OperatingPoint  # on the validation split
    held_out: OperatingPoint  # the chosen decision on the test split

    @property
    def rule(self) -> Rule:
        return Rule(self.chosen.rule, self.chosen.k, self.chosen.threshold)  # type: ignore[arg-type]


def bursts_of(head: Head, part: Part, target: int) -> list[ScoredBurst]:
    """The photos of a split as bursts (grouped by sequence, in order) with target scores."""
    scores = _target_scores(head, part.x, target)
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(part.groups):
        by_group[g].append(i)
    out = []
    for members in by_group.values():
        is_target = any(part.y[i] == target for i in members)
        out.append(ScoredBurst(tuple(float(scores[i]) for i in members), is_target, len(members)))
    return out


def _target_scores(head: Head, x: np.ndarray, target: int) -> np.ndarray:
    z = head.logits(np.asarray(x, np.float64))
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p[:, target] / p.sum(axis=1)


def choose_l2(train: Part, val: Part, labels: Sequence[str]) -> float:
    """The penalty whose head has the lowest class-balanced log loss on the validation split."""
    losses = [(loss(train_head(train.x, train.y, labels, l2), val.x, val.y), l2) for l2 in L2_GRID]
    return min(losses)[1]


def adapt(
    train: Part,
    val: Part,
    test: Part,
    labels: Sequence[str],
    target: int,
    goal: Goal,
    rates: FieldRates = DEFAULT_RATES,
) -> Adapted:
    """Fit the head on ``train``, choose penalty and threshold on ``val``, score ``test``."""
    l2 = choose_l2(train, val, labels)
    head = train_head(train.x, train.y, labels, l2)
    chosen = choose(bursts_of(head, val, target), goal, rates, ("k_of_n",), (1,))
    rule = Rule("k_of_n", 1, chosen.threshold)
    return Adapted(head, l2, target, chosen, assess(bursts_of(head, test, target), rule, rates))


@dataclass(frozen=True)
class CurvePoint:
    per_class: int  # photos per class the head was trained on (at most)
    recall: float
    false_alert_rate: float
    repeats: int


def learning_curve(
    train: Part,
    test: Part,
    labels: Sequence[str],
    target: int,
    threshold: float,
    sizes: Sequence[int],
    l2: float,
    repeats: int = 5,
    seed: int = 0,
) -> list[CurvePoint]:
    """Recall and false alert rate on ``test`` of heads fitted on ``n`` photos per class."""
    rng = np.random.default_rng(seed)
    classes = sorted(set(train.y.tolist()))
    out = []
    for n in sizes:
        recalls, fars = [], []
        for _ in range(repeats):
            pick = np.concatenate(
                [rng.permutation(np.flatnonzero(train.y == c))[:n] for c in classes]
            )
            head = train_head(train.x[pick], train.y[pick], labels, l2)
            hit = _target_scores(head, test.x, target) >= threshold
            positive = test.y == target
            recalls.append(float(hit[positive].mean()) if positive.any() else 0.0)
            fars.append(float(hit[~positive].mean()) if (~positive).any() else 0.0)
        out.append(CurvePoint(n, float(np.mean(recalls)), float(np.mean(fars)), repeats))
    return out
