"""Early exit, measured: the sequential decider replayed on full frame scores. Pure.

`simulate_early_exit` feeds a labelled burst's frame scores one at a time to
`camtrap.core.verdict.settle`, the decider the trap runs, and reports mean frames classified
with and without early exit and how often the two decisions agree (by construction: always).
`camtrap calibrate` breaks ties between rules with it; `camtrap evaluate` reports it.
"""

from __future__ import annotations

from collections.abc import Sequence

from camtrap.core import verdict
from camtrap.core.operating_point import EarlyExitStats, ScoredBurst, burst_score
from camtrap.core.verdict import Rule


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
