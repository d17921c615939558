"""Choosing the operating point on synthetic score distributions whose answers are known."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camtrap.core.calibrate import CalibrationError, assess, choose, floor_threshold, midway
from camtrap.core.early_exit import simulate_early_exit
from camtrap.core.intervals import wilson
from camtrap.core.operating_point import FieldRates, MaxRecall, MinCost, MinRecall, ScoredBurst
from camtrap.core.verdict import Rule


def single(scores: list[float], is_target: bool) -> list[ScoredBurst]:
    """One-frame bursts, so the burst score is the frame score under every rule."""
    return [ScoredBurst((s,), is_target, 1) for s in scores]


TARGET_SCORES = [0.9, 0.8, 0.7, 0.6, 0.5]
OTHER_SCORES = [0.55, 0.3, 0.2, 0.1, 0.05]
LADDER = single(TARGET_SCORES, True) + single(OTHER_SCORES, False)
K_OF_N_1 = {"rules": ("k_of_n",), "ks": (1,)}


def test_separable_scores_give_recall_one_at_a_threshold_between_the_classes() -> None:
    rng = random.Random(3)
    bursts = [ScoredBurst(tuple(rng.uniform(0.7, 1) for _ in range(5)), True, 5) for _ in range(30)]
    bursts += [
        ScoredBurst(tuple(rng.uniform(0, 0.4) for _ in range(5)), False, 5) for _ in range(60)
    ]
    p = choose(bursts, MinRecall(1.0))
    assert p.recall == 1.0 and p.fp == 0 and p.precision == 1.0
    assert 0.4 <= p.threshold <= 1.0
    assert p.false_alerts_per_day == 0.0


def test_min_recall_chooses_the_fewest_false_alerts_midway_in_the_highest_gap() -> None:
    p = choose(LADDER, MinRecall(0.8), **K_OF_N_1)
    # 4 of 5 targets reach 0.6 and no other burst does; a threshold above 0.6 passes only 3 of
    # 5, one at or below 0.55 passes a non-target: midway in the gap is 0.575
    assert p.threshold == 0.575
    assert (p.tp, p.fp, p.recall) == (4, 0, 0.8)


def test_equal_false_alerts_prefer_more_recall() -> None:
    bursts = single([0.9, 0.8, 0.7, 0.6], True) + single([0.95, 0.1], False)
    p = choose(bursts, MinRecall(0.5), **K_OF_N_1)
    assert (p.threshold, p.tp, p.fp) == (0.35, 4, 1)  # midway between 0.1 and 0.6


def test_min_recall_one_takes_every_target_and_pays_in_false_alerts() -> None:
    p = choose(LADDER, MinRecall(1.0), **K_OF_N_1)
    assert (p.threshold, p.tp, p.fp) == (0.4, 5, 1)  # midway between 0.3 and 0.5


def test_wilson_bound_is_more_cautious_than_the_point_estimate() -> None:
    with pytest.raises(CalibrationError, match=r"best is 5/5 \(Wilson 95 % lower bound 0.566\)"):
        choose(LADDER, MinRecall(0.8, bound="wilson"), **K_OF_N_1)
    many = single([0.9] * 40 + [0.5] * 2, True) + single([0.6] * 4 + [0.3] * 36, False)
    point = choose(many, MinRecall(0.9), **K_OF_N_1)
    cautious = choose(many, MinRecall(0.9, bound="wilson"), **K_OF_N_1)
    assert point.threshold == 0.75 and point.tp == 40  # 40/42 = 0.952 >= 0.9
    assert cautious.threshold == 0.4 and cautious.tp == 42  # Wilson lower of 40/42 is 0.84


def test_max_recall_takes_the_most_hits_within_the_false_alert_budget() -> None:
    # LADDER: targets 0.9..0.5, others 0.55, 0.3, ...: no false alert allows 4 of 5 (t 0.575);
    # a budget of one in five lets the 0.55 other through and takes all five (t 0.4)
    none = choose(LADDER, MaxRecall(0.0), **K_OF_N_1)
    one = choose(LADDER, MaxRecall(0.2), **K_OF_N_1)
    assert (none.threshold, none.tp, none.fp) == (0.575, 4, 0)
    assert (one.threshold, one.tp, one.fp) == (0.4, 5, 1)
    assert one.goal == "max_recall at false alert rate <= 20 %"
    # more budget than recall needs buys no more false alerts
    assert (choose(LADDER, MaxRecall(0.6), **K_OF_N_1).fp, one.tp) == (1, 5)
    with pytest.raises(ValueError, match="MaxRecall"):
        MaxRecall(1.0)


def test_max_recall_with_the_wilson_bound_leaves_room_for_the_next_set() -> None:
    # 300 others: 3 at 0.6, the rest at 0.1; targets at 0.8 (200) and 0.5 (100). A 2 % budget
    # on the point estimate takes the 0.5 targets with the three 0.6 others (1 %); the Wilson
    # upper bound of 3/300 is 2.9 %, so the cautious goal stops above 0.6 and keeps 200 hits
    bursts = single([0.8] * 200 + [0.5] * 100, True) + single([0.6] * 3 + [0.1] * 297, False)
    point = choose(bursts, MaxRecall(0.02), **K_OF_N_1)
    cautious = choose(bursts, MaxRecall(0.02, bound="wilson"), **K_OF_N_1)
    assert (point.tp, point.fp) == (300, 3)
    assert (cautious.tp, cautious.fp, cautious.threshold) == (200, 0, 0.7)
    assert wilson(0, 300)[1] <= 0.02 < wilson(3, 300)[1]
    assert "(Wilson 95 % upper bound)" in cautious.goal
    with pytest.raises(CalibrationError, match="label more non-target bursts"):
        choose(LADDER, MaxRecall(0.02, bound="wilson"), **K_OF_N_1)  # 5 others: 0/5 is 43 %


@settings(max_examples=60, deadline=None)
@given(
    targets=st.lists(st.integers(0, 20), min_size=1, max_size=12),
    others=st.lists(st.integers(0, 20), min_size=1, max_size=12),
    budget=st.sampled_from([0.0, 0.1, 0.25, 0.5]),
)
def test_no_threshold_within_the_budget_finds_more_targets(
    targets: list[int], others: list[int], budget: float
) -> None:
    bursts = single([t / 20 for t in targets], True) + single([o / 20 for o in others], False)
    if others.count(20) > budget * len(others):  # a non-target at 1.0 passes every threshold
        with pytest.raises(CalibrationError, match="even threshold 1 lets"):
            choose(bursts, MaxRecall(budget), **K_OF_N_1)
        return
    p = choose(bursts, MaxRecall(budget), **K_OF_N_1)
    assert p.fp <= budget * len(others) + 1e-9
    for t in [i / 40 for i in range(41)]:
        tp = sum(s / 20 >= t for s in targets)
        fp = sum(s / 20 >= t for s in others)
        if fp <= budget * len(others):
            assert (-tp, fp) >= (-p.tp, p.fp)


def test_expected_false_alerts_per_day_scale_the_false_alert_rate_and_its_interval() -> None:
    p = choose(
        LADDER, MinRecall(1.0), FieldRates(triggers_per_day=20, targets_per_day=0.2), **K_OF_N_1
    )
    lo, hi = wilson(1, 5)
    assert p.false_alert_rate == pytest.approx(0.2)
    assert p.false_alerts_per_day == pytest.approx(4.0)
    assert p.false_alerts_per_day_ci == pytest.approx((20 * lo, 20 * hi))
    assert p.misses_per_day == 0.0
    assert p.misses_per_day_ci[1] == pytest.approx(0.2 * (1 - wilson(5, 5)[0]))


def test_cost_goal_trades_misses_against_false_alerts() -> None:
    rates = FieldRates(triggers_per_day=20, targets_per_day=0.2)
    costly_miss = choose(LADDER, MinCost(cost_miss=1000, cost_false_alert=1), rates, **K_OF_N_1)
    costly_alert = choose(LADDER, MinCost(cost_miss=1, cost_false_alert=1000), rates, **K_OF_N_1)
    assert (costly_miss.threshold, costly_miss.tp, costly_miss.fp) == (0.4, 5, 1)
    assert (costly_alert.threshold, costly_alert.tp, costly_alert.fp) == (0.575, 4, 0)
    # 1 of 5 leopards missed at 0.2 a day, no false alerts
    assert costly_alert.cost_per_day == pytest.approx(1 * 0.2 * 1 / 5)
    assert costly_miss.cost_per_day == pytest.approx(1 * 20 * 1 / 5)


def test_known_distributions_give_the_analytic_threshold_and_false_alert_rate() -> None:
    # targets ~ U(0.4, 1), others ~ U(0, 0.6): recall 0.9 needs t = 1 - 0.9 * 0.6 = 0.46, where
    # P(other >= 0.46) = 0.14 / 0.6 = 0.2333.
    rng = random.Random(11)
    bursts = single([rng.uniform(0.4, 1.0) for _ in range(3000)], True)
    bursts += single([rng.uniform(0.0, 0.6) for _ in range(3000)], False)
    p = choose(bursts, MinRecall(0.9), **K_OF_N_1)
    assert p.threshold == pytest.approx(0.46, abs=0.005)
    assert p.false_alert_rate == pytest.approx(0.2333, abs=0.02)
    assert p.false_alert_rate_ci[0] <= 0.2333 <= p.false_alert_rate_ci[1]


def test_k_of_n_needs_k_frames_above_threshold() -> None:
    # targets have two high frames; others have one high frame (a bird flying through)
    targets = [ScoredBurst((0.9, 0.85, 0.1, 0.1), True, 4) for _ in range(5)]
    others = [ScoredBurst((0.95, 0.1, 0.1, 0.1), False, 4) for _ in range(5)]
    p = choose(targets + others, MinRecall(1.0), rules=("k_of_n",), ks=(1, 2))
    assert (p.rule, p.k, p.fp) == ("k_of_n", 2, 0)
    assert p.threshold == 0.475  # midway between the others' 0.1 and the targets' 0.85


def test_stored_threshold_never_drops_the_burst_it_was_chosen_for() -> None:
    for s in (0.29, 0.1 + 0.2, 0.123456789, 1.0, 0.0):
        assert floor_threshold(s) <= s and s - floor_threshold(s) < 1e-4
    assert midway(0.5, 0.50015) == 0.50015  # no room in between: the top itself
    assert midway(None, 0.3) == 0.3
    assert 0.5 < midway(0.5, 0.6) <= 0.6


def test_goal_needs_both_targets_and_non_targets() -> None:
    with pytest.raises(CalibrationError, match="0 non-target"):
        choose(single([0.9], True), MinRecall(0.5))
    with pytest.raises(CalibrationError, match="rules"):
        choose(LADDER, MinRecall(0.5), rules=("majority",))  # type: ignore[arg-type]


def test_early_exit_agrees_with_full_rule_and_reads_fewer_frames() -> None:
    rng = random.Random(5)
    bursts = [
        ScoredBurst(tuple(rng.random() for _ in range(n)), rng.random() < 0.3, n)
        for n in (rng.randint(1, 8) for _ in range(300))
    ]
    for rule in (Rule("k_of_n", 2, 0.6), Rule("mean_top_k", 3, 0.5), Rule("k_of_n", 1, 0.9)):
        ee = simulate_early_exit(bursts, rule)
        assert ee.agreements == ee.bursts == 300
        assert ee.recall_early == ee.recall_full
        assert ee.mean_frames_early < ee.mean_frames_full


def test_k_of_n_early_exit_frames_known_answer() -> None:
    # 2 of 5 at 0.5: a burst of lows settles as a miss after 4 frames; two highs after 2
    lows = ScoredBurst((0.1,) * 5, False, 5)
    highs = ScoredBurst((0.9, 0.9, 0.1, 0.1, 0.1), True, 5)
    ee = simulate_early_exit([lows, highs], Rule("k_of_n", 2, 0.5))
    assert ee.mean_frames_early == 3.0 and ee.mean_frames_full == 5.0
    assert ee.reduction == pytest.approx(0.4)


def test_assess_reports_the_given_decision_and_card_fields_are_json() -> None:
    p = assess(LADDER, Rule("k_of_n", 1, 0.7), FieldRates())
    assert (p.tp, p.fp, p.goal) == (3, 0, "as given")
    card = json.loads(json.dumps(p.card_metrics()))
    assert card["recall"] == 0.6 and card["interval"] == "Wilson score, 95 %"
    assert p.decision() == {"rule": "k_of_n", "k": 1, "threshold": 0.7, "early_exit": True}


@settings(max_examples=60, deadline=None)
@given(
    targets=st.lists(st.integers(0, 20), min_size=1, max_size=12),
    others=st.lists(st.integers(0, 20), min_size=1, max_size=12),
    recall=st.sampled_from([0.5, 0.8, 1.0]),
)
def test_no_threshold_meets_the_recall_goal_with_fewer_false_alerts(
    targets: list[int], others: list[int], recall: float
) -> None:
    bursts = single([t / 20 for t in targets], True) + single([o / 20 for o in others], False)
    p = choose(bursts, MinRecall(recall), **K_OF_N_1)
    assert p.recall >= recall
    for t in [i / 40 for i in range(41)]:  # every gap between the 1/20 score steps
        tp = sum(s / 20 >= t for s in targets)
        fp = sum(s / 20 >= t for s in others)
        if tp / len(targets) >= recall:
            assert (fp, -tp) >= (p.fp, -p.tp)
