"""Burst rules and the sequential early-exit decider (camtrap.core.verdict)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from camtrap.core.targets import resolve_targets
from camtrap.core.verdict import Rule, Tally, bounds, burst_score, settle

K2 = Rule("k_of_n", k=2, threshold=0.5)
MEAN2 = Rule("mean_top_k", k=2, threshold=0.5)
LABELS = ("leopard", "deer", "empty")
TARGETS = resolve_targets(["leopard"], LABELS)


def probs(leopard: float, deer: float = 0.0) -> np.ndarray:
    return np.array([leopard, deer, 1 - leopard - deer], np.float32)


def test_k_of_n_burst_score_is_the_kth_highest():
    assert burst_score(K2, [0.9, 0.2, 0.6, 0.4]) == pytest.approx(0.6)


def test_mean_top_k_burst_score_is_the_mean_of_the_k_highest():
    assert burst_score(MEAN2, [0.9, 0.2, 0.6, 0.4]) == pytest.approx(0.75)


def test_k_is_capped_by_the_frames_planned():
    assert burst_score(K2, [0.7]) == pytest.approx(0.7)
    assert bounds(Rule("k_of_n", k=5, threshold=0.5), [0.7, 0.9], n=2) == (0.7, 0.7)


def test_bounds_take_unknown_frames_as_0_and_1():
    assert bounds(K2, [0.9], n=4) == (0.0, 1.0)
    assert bounds(MEAN2, [0.9], n=4) == (pytest.approx(0.45), 1.0)
    assert bounds(MEAN2, [0.9], n=2) == (pytest.approx(0.45), pytest.approx(0.95))


def test_settles_hit_when_the_lower_bound_reaches_the_threshold():
    assert settle(K2, [0.9, 0.5], n=8) == "hit"


def test_settles_miss_when_the_upper_bound_stays_below():
    assert settle(K2, [0.1, 0.2, 0.3], n=4) == "miss"
    assert settle(K2, [0.1, 0.2], n=4) is None


def test_rule_rejects_bad_values():
    with pytest.raises(ValueError, match="unknown rule"):
        Rule("majority", 2, 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threshold"):
        Rule("k_of_n", 2, 1.5)
    with pytest.raises(ValueError, match="k must be"):
        Rule("k_of_n", 0, 0.5)


def test_tally_hit_has_agreeing_frames_top_label_and_rule():
    t = Tally(K2, n=5, targets=TARGETS)
    for p in (probs(0.8), probs(0.1, 0.7), probs(0.6, 0.0)):
        t = t.add(p)
    v = t.verdict()
    assert (v.decision, v.frames_classified, v.frames_total, v.frames_agreeing) == ("hit", 3, 5, 2)
    assert v.target_score == pytest.approx(0.6)
    assert (v.top_label, v.top_score) == ("leopard", pytest.approx(0.8))  # element-wise max
    assert v.rule == "k_of_n:2/0.50"
    assert [f.top_label for f in v.frames] == ["leopard", "deer", "leopard"]


def test_burst_top_label_comes_from_the_element_wise_max_over_frames():
    t = Tally(K2, n=3, targets=TARGETS).add(probs(0.3, 0.3)).add(probs(0.0, 0.6))
    v = t.verdict()  # frame maxima: empty 0.4, deer 0.6 -> deer; element-wise max wins
    assert (v.top_label, v.top_score) == ("deer", pytest.approx(0.6))


def test_tally_failed_frame_makes_the_burst_an_error_with_the_reason():
    t = Tally(K2, n=3, targets=TARGETS).add(probs(0.9)).fail("001.jpg: cannot decode")
    v = t.verdict()
    assert v.decision == "error" and v.error == "001.jpg: cannot decode"
    assert v.frames[1].error == "001.jpg: cannot decode" and v.frames_classified == 1


def test_burst_that_ends_short_is_decided_on_its_frames():
    v = Tally(K2, n=5, targets=TARGETS).add(probs(0.9)).verdict()
    assert v.decision == "hit" and v.frames_total == 5 and v.frames_classified == 1


def test_burst_with_no_frames_is_an_error():
    v = Tally(K2, n=3, targets=TARGETS).verdict()
    assert v.decision == "error" and v.error == "no frames captured"
    assert Tally(K2, n=0, targets=TARGETS).verdict().decision == "error"


scores = st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=10)
rules = st.builds(
    Rule,
    st.sampled_from(["k_of_n", "mean_top_k"]),
    st.integers(1, 6),
    st.floats(0, 1, allow_nan=False),
)


@given(scores, rules)
def test_early_exit_never_changes_the_decision(frame_scores, rule):
    n = len(frame_scores)
    full = "hit" if burst_score(rule, frame_scores) >= rule.threshold else "miss"
    for m in range(n + 1):
        early = settle(rule, frame_scores[:m], n) if m else None
        if early is not None:
            assert early == full
            break
    assert settle(rule, frame_scores, n) == full


@given(scores, rules)
def test_bounds_bracket_the_final_score(frame_scores, rule):
    n = len(frame_scores)
    final = burst_score(rule, frame_scores)
    for m in range(1, n + 1):
        lo, hi = bounds(rule, frame_scores[:m], n)
        assert lo - 1e-9 <= final <= hi + 1e-9
