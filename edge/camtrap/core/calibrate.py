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
* ``max_recall``: among points whose false alert rate on the labelled non-targets is at most the
  budget F, the most hits (a false-alert budget stated up front, the Neyman-Pearson choice).
  The rate is the point estimate or, with ``bound="wilson"``, the upper end of its 95 %
  Wilson interval.
* ``min_cost``: the least expected cost per day,
  ``cost_miss * targets_per_day * (1 - recall) + cost_false_alert * false_alerts_per_day``.

Ties go to more hits, then, within one rule and k, to the highest threshold; among rules and
ks still tied, to the fewest frames classified under early exit, then to the simpler rule
(``k_of_n`` before ``mean_top_k``, smaller k). Because of that last step a set on which every
target frame scores high favours the largest k searched (a miss settles at the first low
frame): narrow ``ks`` when real bursts show the target in only a few of their frames.

The values in and out are in `camtrap.core.operating_point`; the early-exit replay that breaks
ties is `camtrap.core.early_exit`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from camtrap.core import verdict
from camtrap.core.burst_record import BurstRecord
from camtrap.core.early_exit import simulate_early_exit
from camtrap.core.intervals import wilson
from camtrap.core.labels import is_target_label
from camtrap.core.operating_point import (
    Candidate,
    FieldRates,
    Goal,
    MaxRecall,
    MinCost,
    MinRecall,
    OperatingPoint,
    ScoredBurst,
    burst_score,
    operating_point,
)
from camtrap.core.verdict import Rule, RuleName
from camtrap.errors import UsageError

RULES = verdict.RULES
THRESHOLD_DECIMALS = 4
DEFAULT_KS = (1, 2, 3, 4)  # k = 4 of a 3-frame burst is k_eff = 3: every frame
DEFAULT_RATES = FieldRates()


class CalibrationError(UsageError):
    """The labelled bursts cannot support the goal (no targets, or recall out of reach)."""


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


def within_budget(c: Candidate, goal: MaxRecall) -> bool:
    """Whether a candidate's false alert rate on the labelled non-targets (point estimate or
    Wilson upper bound) is within budget."""
    if goal.bound == "wilson":
        return wilson(c.fp, c.fp + c.tn)[1] <= goal.false_alert_rate
    return c.fp <= goal.false_alert_rate * (c.fp + c.tn) + 1e-9


def expected_cost(c: Candidate, goal: MinCost, rates: FieldRates) -> float:
    """Expected cost per day of a candidate in the field."""
    miss = rates.targets_per_day * c.fn / (c.tp + c.fn)
    false_alerts = rates.triggers_per_day * c.fp / max(1, c.fp + c.tn)
    return goal.cost_miss * miss + goal.cost_false_alert * false_alerts


def _goal_key(c: Candidate, goal: Goal, rates: FieldRates) -> tuple[float, ...]:
    """Smaller is better; the last item (threshold) only breaks ties within one rule and k."""
    if isinstance(goal, MaxRecall):
        return (-c.tp, c.fp, -c.rule.threshold)
    lead = (expected_cost(c, goal, rates),) if isinstance(goal, MinCost) else ()
    return (*lead, c.fp, -c.tp, -c.rule.threshold)


def choose(
    bursts: Sequence[ScoredBurst],
    goal: Goal,
    rates: FieldRates = DEFAULT_RATES,
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
            elif isinstance(goal, MaxRecall):
                pool = [c for c in pool if within_budget(c, goal)]
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
    pool = [c for r in rules for k in ks for c in candidates(bursts, r, k)]
    if isinstance(goal, MaxRecall):
        least = min(pool, key=lambda c: c.fp)
        negatives = least.fp + least.tn
        if goal.bound == "wilson":
            return (
                f"no rule keeps within {goal.describe()}: the fewest false alerts, "
                f"{least.fp} of {negatives}, have an upper bound of "
                f"{100 * wilson(least.fp, negatives)[1]:.2g} %; label more non-target bursts"
            )
        return (
            f"no rule keeps within {goal.describe()}: even threshold 1 lets {least.fp} of "
            f"{negatives} non-target bursts through"
        )
    best = max(pool, key=lambda c: c.tp)
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
