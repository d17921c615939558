"""An operating point as frozen values: what calibration takes and what it hands back. Pure.

In: one `ScoredBurst` per labelled burst (its frame target scores in capture order, whether its
truth is a target, and the frames planned), a `Goal` (`MinRecall`, `MaxRecall` or `MinCost`) and the
`FieldRates` of the site. Out: an `OperatingPoint`, the chosen decision with its field figures,
which it writes as the model card's ``decision`` and ``metrics.operating_point`` objects.

Field figures: expected false alerts per day = ``triggers_per_day * P(hit | non-target)``
(every trigger counted as a chance of a false alert; target triggers are rare), with the 95 %
Wilson interval of ``P(hit | non-target)`` scaled the same way; missed targets per day =
``targets_per_day * (1 - recall)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from camtrap.core import verdict
from camtrap.core.intervals import wilson
from camtrap.core.verdict import Rule

RecallBound = Literal["point", "wilson"]


@dataclass(frozen=True)
class ScoredBurst:
    """One labelled burst: its frame target scores in capture order and its truth."""

    scores: tuple[float, ...]
    is_target: bool
    frames_planned: int

    def __post_init__(self) -> None:
        if self.frames_planned < 1 or len(self.scores) > self.frames_planned:
            raise ValueError(
                f"ScoredBurst: {len(self.scores)} scores, {self.frames_planned} planned"
            )


def burst_score(rule: Rule, b: ScoredBurst) -> float:
    """A burst's score under the rule; frames planned but never classified count as 0."""
    return verdict.bounds(rule, b.scores, b.frames_planned)[0]


@dataclass(frozen=True)
class MinRecall:
    """Goal: recall >= ``recall``, then the fewest false alerts."""

    recall: float
    bound: RecallBound = "point"

    def __post_init__(self) -> None:
        if not 0 < self.recall <= 1 or self.bound not in ("point", "wilson"):
            raise ValueError(f"MinRecall: want 0 < recall <= 1, point|wilson, got {self}")

    def describe(self) -> str:
        how = "Wilson 95 % lower bound" if self.bound == "wilson" else "point estimate"
        return f"min_recall >= {self.recall:g} ({how})"


@dataclass(frozen=True)
class MinCost:
    """Goal: the least expected cost per day."""

    cost_miss: float
    cost_false_alert: float

    def __post_init__(self) -> None:
        if not (self.cost_miss > 0 and self.cost_false_alert > 0):
            raise ValueError(f"MinCost: want positive costs, got {self}")

    def describe(self) -> str:
        return f"min_cost (miss {self.cost_miss:g}, false alert {self.cost_false_alert:g})"


@dataclass(frozen=True)
class MaxRecall:
    """Goal: the most hits with a false alert rate <= ``false_alert_rate`` on the labelled
    non-targets (a stated false-alert budget), then the fewest false alerts. The rate is the
    point estimate or, more cautiously, the upper end of its 95 % Wilson interval (a rate
    measured at the edge of the budget on one set is, on average, over it on the next)."""

    false_alert_rate: float
    bound: RecallBound = "point"  # "wilson": the rate's 95 % upper bound must be within it

    def __post_init__(self) -> None:
        if not 0 <= self.false_alert_rate < 1 or self.bound not in ("point", "wilson"):
            raise ValueError(f"MaxRecall: want 0 <= false_alert_rate < 1, point|wilson, got {self}")

    def describe(self) -> str:
        how = " (Wilson 95 % upper bound)" if self.bound == "wilson" else ""
        return f"max_recall at false alert rate <= {100 * self.false_alert_rate:g} %{how}"


Goal = MinRecall | MaxRecall | MinCost


@dataclass(frozen=True)
class FieldRates:
    """How often the trap fires in the field, to turn rates into events per day."""

    triggers_per_day: float = 20.0
    targets_per_day: float = 0.15  # Amur leopard surveys: ~0.1-0.2 events per camera per day

    def __post_init__(self) -> None:
        if not (self.triggers_per_day > 0 and self.targets_per_day > 0):
            raise ValueError(f"FieldRates: want positive rates, got {self}")


@dataclass(frozen=True)
class Candidate:
    """One (rule, k, threshold) and its counts on the labelled bursts."""

    rule: Rule
    tp: int
    fn: int
    fp: int
    tn: int


@dataclass(frozen=True)
class EarlyExitStats:
    """Frames classified per burst with and without early exit, and decision agreement."""

    bursts: int
    mean_frames_full: float
    mean_frames_early: float
    reduction: float  # 1 - early / full
    agreements: int  # bursts where both decisions are equal
    recall_full: float | None
    recall_early: float | None


@dataclass(frozen=True)
class OperatingPoint:
    """The chosen decision and what to expect from it in the field."""

    rule: str
    k: int
    threshold: float
    goal: str
    targets: int  # target bursts in the labelled set
    non_targets: int
    tp: int
    fp: int
    recall: float
    recall_ci: tuple[float, float]
    precision: float | None
    false_alert_rate: float  # P(hit | non-target burst)
    false_alert_rate_ci: tuple[float, float]
    false_alerts_per_day: float
    false_alerts_per_day_ci: tuple[float, float]
    misses_per_day: float
    misses_per_day_ci: tuple[float, float]
    cost_per_day: float | None
    rates: FieldRates
    early_exit: EarlyExitStats

    def decision(self, early_exit: bool = True) -> dict[str, object]:
        """The model card's ``decision`` object."""
        return {
            "rule": self.rule,
            "k": self.k,
            "threshold": self.threshold,
            "early_exit": early_exit,
        }

    def card_metrics(self) -> dict[str, object]:
        """The model card's ``metrics.operating_point`` object (JSON-ready)."""
        ee = self.early_exit
        return {
            "goal": self.goal,
            "rule": self.rule,
            "k": self.k,
            "threshold": self.threshold,
            "bursts": {"targets": self.targets, "non_targets": self.non_targets},
            "recall": _r(self.recall),
            "recall_ci95": [_r(x) for x in self.recall_ci],
            "precision": None if self.precision is None else _r(self.precision),
            "false_alert_rate": _r(self.false_alert_rate),
            "false_alert_rate_ci95": [_r(x) for x in self.false_alert_rate_ci],
            "triggers_per_day": self.rates.triggers_per_day,
            "targets_per_day": self.rates.targets_per_day,
            "false_alerts_per_day": _r(self.false_alerts_per_day),
            "false_alerts_per_day_ci95": [_r(x) for x in self.false_alerts_per_day_ci],
            "misses_per_day": _r(self.misses_per_day),
            "misses_per_day_ci95": [_r(x) for x in self.misses_per_day_ci],
            "cost_per_day": None if self.cost_per_day is None else _r(self.cost_per_day),
            "interval": "Wilson score, 95 %",
            "early_exit": {
                "mean_frames_full": _r(ee.mean_frames_full),
                "mean_frames_early": _r(ee.mean_frames_early),
                "reduction": _r(ee.reduction),
                "agreement": f"{ee.agreements}/{ee.bursts}",
            },
        }


def _r(x: float) -> float:
    return round(float(x), 4)


def operating_point(
    c: Candidate, goal: str, cost: float | None, rates: FieldRates, early: EarlyExitStats
) -> OperatingPoint:
    """Field figures and intervals for a candidate."""
    positives, negatives = c.tp + c.fn, c.fp + c.tn
    recall_ci = wilson(c.tp, positives)
    far, far_ci = c.fp / negatives, wilson(c.fp, negatives)
    per_day = rates.triggers_per_day
    return OperatingPoint(
        rule=c.rule.name,
        k=c.rule.k,
        threshold=c.rule.threshold,
        goal=goal,
        targets=positives,
        non_targets=negatives,
        tp=c.tp,
        fp=c.fp,
        recall=c.tp / positives,
        recall_ci=recall_ci,
        precision=c.tp / (c.tp + c.fp) if c.tp + c.fp else None,
        false_alert_rate=far,
        false_alert_rate_ci=far_ci,
        false_alerts_per_day=per_day * far,
        false_alerts_per_day_ci=(per_day * far_ci[0], per_day * far_ci[1]),
        misses_per_day=rates.targets_per_day * c.fn / positives,
        misses_per_day_ci=(
            rates.targets_per_day * (1 - recall_ci[1]),
            rates.targets_per_day * (1 - recall_ci[0]),
        ),
        cost_per_day=cost,
        rates=rates,
        early_exit=early,
    )
