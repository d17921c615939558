"""Choosing an operating point (burst rule, k, threshold) from labelled bursts: pure, no I/O.

Input: one `ScoredBurst` per labelled burst (its frame target scores in capture order, whether
its truth is a target, and the frames planned). The search tries every rule in ``rules``
(``k_of_n``, ``mean_top_k``, defined in `camtrap.core.verdict`), every k in ``ks`` (default
1-4) and one threshold per distinct burst score s, midway between s and the next lower score
(all thresholds in that gap decide the labelled bursts alike; the middle keeps a margin both
ways; 4 decimals), and picks by the goal:

* ``min_recall``: among points whose recall reaches R, the fewest false alerts. Recall is the
  point estimate (``recall_bound="point"``, the default) or, more cautiously, the lower end of
  its 95 % Wilson interval (``recall_bound="wilson"``).
* ``min_cost``: the least expected cost per day,
  ``cost_miss * targets_per_day * (1 - recall) + cost_false_alert * false_alerts_per_day``.

Ties go to more hits, then, within one rule and k, to the highest threshold; among rules and
ks still tied, to the fewest frames classified under early exit, then to the simpler rule
(``k_of_n`` before ``mean_top_k``, smaller k). Because of that last step a set on which every
target frame scores high favours the largest k searched (a miss settles at the first low
frame): narrow ``ks`` when real bursts show the target in only a few of their frames.

Field figures: expected false alerts per day = ``triggers_per_day * P(hit | non-target)``
(every trigger counted as a chance of a false alert; target triggers are rare), with the 95 %
Wilson interval of ``P(hit | non-target)`` scaled the same way; missed targets per day =
``targets_per_day * (1 - recall)``.

`simulate_early_exit` replays the full frame scores through the sequential decider of
`camtrap.core.verdict` and reports mean frames classified with and without early exit and how
often the two decisions agree (by construction: always).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from camtrap.core import verdict
from camtrap.core.metrics import BurstRecord, is_target_label, wilson
from camtrap.core.verdict import Rule, RuleName
from camtrap.errors import UsageError

RULES = verdict.RULES
THRESHOLD_DECIMALS = 4
DEFAULT_KS = (1, 2, 3, 4)  # k = 4 of a 3-frame burst is k_eff = 3: every frame

RecallBound = Literal["point", "wilson"]


class CalibrationError(UsageError):
    """The labelled bursts cannot support the goal (no targets, or recall out of reach)."""


# --------------------------------------------------------------------------------------------
# Values


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


Goal = MinRecall | MinCost


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


# --------------------------------------------------------------------------------------------
# From replay records


def scored_bursts(
    records: Sequence[BurstRecord], targets: Sequence[str], labelled_only: bool = True
) -> list[ScoredBurst]:
    """The error-free (and, by default, labelled) bursts of replay records with their scores.

    Records made with early exit on lack the scores of the frames never classified, which
    would bias the search: they are refused (`camtrap evaluate` runs with early exit off).
    An unlabelled burst counts as a non-target.
    """
    out = []
    for r in records:
        if r.verdict == "error" or (labelled_only and not r.label) or r.frames_total == 0:
            continue
        if r.frames_classified < r.frames_total or len(r.frames) < r.frames_total:
            raise CalibrationError(
                f"{r.source}: {r.frames_classified} of {r.frames_total} frames classified: "
                "records made with early exit on cannot be calibrated; use camtrap evaluate"
            )
        scores = tuple(f.target_score or 0.0 for f in r.frames)
        out.append(ScoredBurst(scores, is_target_label(r.label, targets), r.frames_total))
    return out


# --------------------------------------------------------------------------------------------
# Burst scores and the threshold search


def burst_score(rule: Rule, b: ScoredBurst) -> float:
    """A burst's score under the rule; frames planned but never classified count as 0."""
    return verdict.bounds(rule, b.scores, b.frames_planned)[0]


def floor_threshold(score: float) -> float:
    """A score floored to the stored precision, so ``score >= floor_threshold(score)``."""
    step = 10**THRESHOLD_DECIMALS
    return min(1.0, max(0.0, math.floor(score * step) / step))


def count(bursts: Sequence[ScoredBurst], scores: np.ndarray, rule: Rule) -> Candidate:
    """The counts of one rule, given every burst's score under it."""
    truth = np.array([b.is_target for b in bursts], dtype=bool)
    hit = scores >= rule.threshold
    tp, fp = int(np.sum(hit & truth)), int(np.sum(hit & ~truth))
    return Candidate(rule, tp, int(truth.sum()) - tp, fp, int((~truth).sum()) - fp)


def candidates(bursts: Sequence[ScoredBurst], name: RuleName, k: int) -> list[Candidate]:
    """The counts at every threshold worth trying for one rule name and k.

    Counts change only at a burst score, so there is one candidate per distinct score s; its
    threshold sits midway between s and the next lower score (every threshold in that gap
    decides the labelled bursts alike, and the middle leaves a margin on both sides).
    """
    scores = np.array([burst_score(Rule(name, k, 0.0), b) for b in bursts], dtype=float)
    steps = sorted({floor_threshold(s) for s in scores} | {1.0})
    return [count(bursts, scores, Rule(name, k, midway(below, t))) for below, t in gaps(steps)]


def gaps(steps: Sequence[float]) -> list[tuple[float | None, float]]:
    """(next lower step or None, step) for each step."""
    return [(steps[i - 1] if i else None, t) for i, t in enumerate(steps)]


def midway(below: float | None, top: float) -> float:
    """A stored threshold in (below, top], as near the middle as 4 decimals allow."""
    if below is None:
        return top
    mid = floor_threshold((below + top) / 2)
    return mid if mid > below else top


def meets(c: Candidate, goal: MinRecall) -> bool:
    """Whether a candidate's recall (point estimate or Wilson lower bound) reaches the goal."""
    positives = c.tp + c.fn
    if goal.bound == "wilson":
        return wilson(c.tp, positives)[0] >= goal.recall
    return c.tp / positives >= goal.recall


def expected_cost(c: Candidate, goal: MinCost, rates: FieldRates) -> float:
    """Expected cost per day of a candidate in the field."""
    miss = rates.targets_per_day * c.fn / (c.tp + c.fn)
    false_alerts = rates.triggers_per_day * c.fp / max(1, c.fp + c.tn)
    return goal.cost_miss * miss + goal.cost_false_alert * false_alerts


def _goal_key(c: Candidate, goal: Goal, rates: FieldRates) -> tuple[float, ...]:
    """Smaller is better; the last item (threshold) only breaks ties within one rule and k."""
    lead = (expected_cost(c, goal, rates),) if isinstance(goal, MinCost) else ()
    return (*lead, c.fp, -c.tp, -c.rule.threshold)


def choose(
    bursts: Sequence[ScoredBurst],
    goal: Goal,
    rates: FieldRates = FieldRates(),
    rules: Sequence[RuleName] = RULES,
    ks: Sequence[int] = DEFAULT_KS,
) -> OperatingPoint:
    """The operating point that best meets the goal on the labelled bursts."""
    _check_inputs(bursts, rules, ks)
    finalists = []
    for name in rules:
        for k in ks:
            pool = candidates(bursts, name, k)
            if isinstance(goal, MinRecall):
                pool = [c for c in pool if meets(c, goal)]
            if pool:
                finalists.append(min(pool, key=lambda c: _goal_key(c, goal, rates)))
    if not finalists:
        raise CalibrationError(_unreachable(bursts, goal, rules, ks))
    best_key = min(_goal_key(c, goal, rates)[:-1] for c in finalists)
    tied = [c for c in finalists if _goal_key(c, goal, rates)[:-1] == best_key]
    scored = [(simulate_early_exit(bursts, c.rule), c) for c in tied]
    ee, best = min(
        scored, key=lambda ec: (ec[0].mean_frames_early, RULES.index(ec[1].rule.name), ec[1].rule.k)
    )
    cost = expected_cost(best, goal, rates) if isinstance(goal, MinCost) else None
    return operating_point(best, goal.describe(), cost, rates, ee)


def _check_inputs(bursts: Sequence[ScoredBurst], rules: Sequence[str], ks: Sequence[int]) -> None:
    unknown = [r for r in rules if r not in RULES]
    if unknown or not rules:
        raise CalibrationError(f"rules: want some of {', '.join(RULES)}, got {list(rules)}")
    if not ks or min(ks) < 1:
        raise CalibrationError(f"k: want integers >= 1, got {list(ks)}")
    targets = sum(b.is_target for b in bursts)
    if targets == 0 or targets == len(bursts):
        raise CalibrationError(
            f"need labelled target and non-target bursts, got {targets} target and "
            f"{len(bursts) - targets} non-target"
        )


def _unreachable(
    bursts: Sequence[ScoredBurst], goal: Goal, rules: Sequence[RuleName], ks: Sequence[int]
) -> str:
    best = max((c for r in rules for k in ks for c in candidates(bursts, r, k)), key=lambda c: c.tp)
    positives = best.tp + best.fn
    return (
        f"no rule reaches {goal.describe()} on {positives} target bursts; the best is "
        f"{best.tp}/{positives} (Wilson 95 % lower bound {wilson(best.tp, positives)[0]:.3f})"
    )


def assess(bursts: Sequence[ScoredBurst], rule: Rule, rates: FieldRates) -> OperatingPoint:
    """The field figures of a given decision (e.g. the model card's) on the labelled bursts."""
    _check_inputs(bursts, (rule.name,), (rule.k,))
    scores = np.array([burst_score(rule, b) for b in bursts], dtype=float)
    c = count(bursts, scores, rule)
    return operating_point(c, "as given", None, rates, simulate_early_exit(bursts, rule))


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


# --------------------------------------------------------------------------------------------
# Early exit


def full_decision(rule: Rule, b: ScoredBurst) -> bool:
    """The full-burst rule: hit iff the burst score reaches the threshold."""
    return burst_score(rule, b) >= rule.threshold


def early_decision(rule: Rule, b: ScoredBurst) -> tuple[bool, int]:
    """(hit, frames classified) when frames are fed one at a time to `verdict.settle`."""
    for m in range(1, len(b.scores) + 1):
        settled = verdict.settle(rule, b.scores[:m], b.frames_planned)
        if settled is not None:
            return settled == "hit", m
    return full_decision(rule, b), len(b.scores)  # a short burst: decided on what it has


def simulate_early_exit(bursts: Sequence[ScoredBurst], rule: Rule) -> EarlyExitStats:
    """Frames classified with and without early exit, and whether the decisions agree."""
    full_frames = early_frames = agreements = hits_full = hits_early = positives = 0
    for b in bursts:
        full_hit = full_decision(rule, b)
        early_hit, used = early_decision(rule, b)
        full_frames += len(b.scores)
        early_frames += used
        agreements += early_hit == full_hit
        if b.is_target:
            positives += 1
            hits_full += full_hit
            hits_early += early_hit
    n = len(bursts)
    full, early = full_frames / max(1, n), early_frames / max(1, n)
    return EarlyExitStats(
        bursts=n,
        mean_frames_full=full,
        mean_frames_early=early,
        reduction=1 - early / full if full else 0.0,
        agreements=agreements,
        recall_full=hits_full / positives if positives else None,
        recall_early=hits_early / positives if positives else None,
    )


# --------------------------------------------------------------------------------------------
# Can the negatives support the asked false alert rate?


def zero_alert_upper_bound(negatives: int) -> float:
    """The one-sided 95 % upper bound of the false alert rate when none of ``negatives``
    non-target bursts fired: ``1 - 0.05 ** (1 / n)``, about 3/n (the rule of three)."""
    return 1.0 if negatives <= 0 else 1.0 - 0.05 ** (1.0 / negatives)


def negatives_needed(rate: float) -> int:
    """Non-target bursts, none firing, that show a false alert rate below ``rate`` (~3/rate)."""
    if not 0 < rate < 1:
        raise ValueError(f"want a rate in (0, 1), got {rate}")
    return math.ceil(math.log(0.05) / math.log(1.0 - rate))


def unsupported_rate(negatives: int, max_rate: float) -> str | None:
    """Why ``negatives`` non-target bursts cannot show a false alert rate <= ``max_rate``, or
    None when they can (even a perfect result on them would leave the bound above it)."""
    bound = zero_alert_upper_bound(negatives)
    if bound <= max_rate:
        return None
    return (
        f"{negatives} non-target bursts cannot show a false alert rate of {100 * max_rate:.2g} %"
        f": with none firing, the 95 % upper bound is still {100 * bound:.2g} % (about 3/n); "
        f"label at least {negatives_needed(max_rate)} non-target bursts"
    )
