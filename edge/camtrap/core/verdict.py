"""Burst verdicts: the rules and the sequential early-exit decider. Pure.

A frame's target score is the max probability over the target labels. With n frames planned
for the burst and ``k_eff = min(k, n)``:

* ``k_of_n``: burst score = the k_eff-th highest frame target score;
* ``mean_top_k``: burst score = the mean of the k_eff highest frame target scores;

and the burst is a hit iff its score >= threshold. After m of n frames the unknown frames are
taken as 0 (lower bound) and as 1 (upper bound): the verdict is settled as a hit when the lower
bound reaches the threshold and as a miss when the upper bound stays below it, so stopping the
burst early never changes the decision. A frame that fails to decode makes the burst ``error``.

>>> rule = Rule("k_of_n", k=2, threshold=0.5)
>>> bounds(rule, [0.9, 0.7], n=5)
(0.7, 1.0)
>>> settle(rule, [0.9, 0.7], n=5)
'hit'
>>> settle(rule, [0.1, 0.2, 0.0, 0.3], n=5)
'miss'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from camtrap.core.targets import Targets
from camtrap.core.types import Decision, FrameScore, Verdict, Where

RuleName = Literal["k_of_n", "mean_top_k"]
RULES: tuple[RuleName, ...] = ("k_of_n", "mean_top_k")
FULL_FRAME = Where()


@dataclass(frozen=True)
class Rule:
    """A burst rule and its operating point."""

    name: RuleName
    k: int
    threshold: float
    early_exit: bool = True

    def __post_init__(self) -> None:
        if self.name not in RULES:
            raise ValueError(f"unknown rule {self.name!r} (known: {', '.join(RULES)})")
        if self.k < 1:
            raise ValueError(f"rule k must be >= 1, got {self.k}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"rule threshold must be in 0..1, got {self.threshold}")

    def describe(self) -> str:
        """``k_of_n:2/0.50``: the rule as it appears in records."""
        return f"{self.name}:{self.k}/{self.threshold:.2f}"


def burst_score(rule: Rule, scores: Sequence[float]) -> float:
    """The burst score over exactly these frame target scores (all frames known)."""
    if not scores:
        raise ValueError("a burst score needs at least one frame")
    top = sorted(scores, reverse=True)[: min(rule.k, len(scores))]
    return top[-1] if rule.name == "k_of_n" else float(sum(top) / len(top))


def bounds(rule: Rule, scores: Sequence[float], n: int) -> tuple[float, float]:
    """(lower, upper) bound of the burst score with ``n - len(scores)`` frames still unknown."""
    unknown = n - len(scores)
    if unknown < 0:
        raise ValueError(f"{len(scores)} frame scores for a burst of {n}")
    return (
        burst_score(rule, [*scores, *([0.0] * unknown)]),
        burst_score(rule, [*scores, *([1.0] * unknown)]),
    )


def settle(rule: Rule, scores: Sequence[float], n: int) -> Literal["hit", "miss"] | None:
    """The decision if the frames so far already fix it, else None."""
    lower, upper = bounds(rule, scores, n)
    if lower >= rule.threshold:
        return "hit"
    if upper < rule.threshold:
        return "miss"
    return None


@dataclass(frozen=True, eq=False)
class Tally:
    """Frames of one burst so far; each ``add``/``fail`` returns a new tally.

    >>> from camtrap.core.targets import resolve_targets
    >>> t = Tally(Rule("k_of_n", 1, 0.5), n=3, targets=resolve_targets(["cat"], ["dog", "cat"]))
    >>> t = t.add(np.array([0.2, 0.8], np.float32))
    >>> t.settled, t.verdict().decision
    ('hit', 'hit')
    """

    rule: Rule
    n: int
    targets: Targets
    frames: tuple[FrameScore, ...] = ()
    max_probs: np.ndarray | None = None  # element-wise max of the class probabilities
    error: str | None = None

    def add(self, probs: np.ndarray, where: Where = FULL_FRAME) -> Tally:
        """Record the class probabilities of the next frame (of its winning region)."""
        top = int(np.argmax(probs))
        score = self.targets.score(probs)
        label, top_score = self.targets.labels[top], float(probs[top])
        fs = FrameScore(len(self.frames), score, label, top_score, where=where)
        mp = probs if self.max_probs is None else np.maximum(self.max_probs, probs)
        return replace(self, frames=(*self.frames, fs), max_probs=mp)

    def fail(self, reason: str) -> Tally:
        """The next frame could not be read: the burst is an error."""
        fs = FrameScore(len(self.frames), 0.0, "", 0.0, error=reason)
        return replace(self, frames=(*self.frames, fs), error=reason)

    @property
    def _scores(self) -> tuple[float, ...]:
        """Target scores of the frames classified so far (a failed frame ends the burst)."""
        return tuple(f.target_score for f in self.frames if f.error is None)

    @property
    def settled(self) -> Literal["hit", "miss", "error"] | None:
        if self.error is not None:
            return "error"
        if len(self._scores) >= self.n:  # all planned frames in (or a burst of none)
            return settle(self.rule, self._scores, len(self._scores)) if self._scores else None
        return settle(self.rule, self._scores, self.n)

    @property
    def target_label(self) -> str:
        """The target label with the highest probability over the burst ("" before any frame)."""
        return self.target[1]

    @property
    def target(self) -> tuple[str, str]:
        """(target name, model label) that scored over the burst: for a group, its name and
        its likeliest member; ("", "") before any frame."""
        return ("", "") if self.max_probs is None else self.targets.best(self.max_probs)

    def verdict(self) -> Verdict:
        """The verdict now; a burst that ended short is decided on the frames it has."""
        n = self.n
        decision: Decision | None = self.settled
        if decision is None:  # the camera ended the burst before n frames
            n = len(self._scores)
            decision = settle(self.rule, self._scores, n) if n else None
        error = self.error if self.error is not None else (None if n else "no frames captured")
        lower = bounds(self.rule, self._scores, max(n, len(self._scores)))[0] if n else 0.0
        top_label, top_score = self._top()
        return Verdict(
            decision=decision or "error",
            target_score=float(lower),
            top_label=top_label,
            top_score=top_score,
            frames_total=self.n,
            frames_classified=len(self._scores),
            frames=self.frames,
            frames_agreeing=sum(s >= self.rule.threshold for s in self._scores),
            rule=self.rule.describe(),
            error=error,
        )

    def _top(self) -> tuple[str, float]:
        if self.max_probs is None:
            return ("", 0.0)
        i = int(np.argmax(self.max_probs))
        return (self.targets.labels[i], float(self.max_probs[i]))
