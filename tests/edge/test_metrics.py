"""Evaluation metrics over replay records: Wilson intervals, per-class precision and recall,
confusion matrices, PR curves, and how errors and unlabelled bursts are counted."""

from __future__ import annotations

import math
from typing import Any

import pytest

from camtrap.core.burst_record import BurstRecord, parse_record
from camtrap.core.intervals import wilson
from camtrap.core.labels import BELOW, burst_predicted, group_aliases, is_target_label, short_label
from camtrap.core.metrics import MAX_NAMED_OTHERS, OTHER, evaluate_records, pr_curve

TARGETS = ("leopard",)


def frame(i: int, score: float, top: str, error: str | None = None) -> dict[str, Any]:
    return {
        "index": i,
        "name": f"{i:03d}.jpg",
        "target_score": score,
        "top_label": top,
        "top_score": 0.9,
        "error": error,
    }


def record(
    label: str | None,
    verdict: str,
    top_label: str,
    frame_scores: list[tuple[float, str]] | None = None,
    target_score: float = 0.0,
    error: str | None = None,
) -> dict[str, Any]:
    frames = frame_scores or [(target_score, top_label)]
    raw: dict[str, Any] = {
        "source": f"bursts/{label}",
        "event_id": "sim-01-1",
        "verdict": verdict,
        "target_score": target_score,
        "top_label": top_label,
        "top_score": 0.9,
        "frames_total": len(frames),
        "frames_classified": len(frames),
        "frames_agreeing": 0,
        "rule": "k_of_n:1/0.50",
        "frames": [frame(i, s, t) for i, (s, t) in enumerate(frames)],
        "error": error,
    }
    if label is not None:
        raw["label"] = label
    return raw


def parsed(*raws: dict[str, Any]) -> list[BurstRecord]:
    return [parse_record(r) for r in raws]


# --- Wilson ---------------------------------------------------------------------------------


def test_wilson_interval_matches_published_vector_8_of_10() -> None:
    lo, hi = wilson(8, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.490, 0.943)


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [(0, 10, 0.0, 0.278), (10, 10, 0.722, 1.0), (50, 100, 0.404, 0.596), (1, 20, 0.009, 0.236)],
)
def test_wilson_interval_vectors(k: int, n: int, lo: float, hi: float) -> None:
    got = wilson(k, n)
    assert math.isclose(got[0], lo, abs_tol=6e-4) and math.isclose(got[1], hi, abs_tol=6e-4)


def test_wilson_interval_without_trials_is_uninformative() -> None:
    assert wilson(0, 0) == (0.0, 1.0)


def test_wilson_rejects_more_successes_than_trials() -> None:
    with pytest.raises(ValueError, match="3/2"):
        wilson(3, 2)


# --- Labels ---------------------------------------------------------------------------------


def test_target_label_matches_first_name_but_not_snow_leopard() -> None:
    assert is_target_label("leopard, Panthera pardus", TARGETS)
    assert is_target_label("Leopard", TARGETS)
    assert not is_target_label("snow leopard, ounce, Panthera uncia", TARGETS)
    assert not is_target_label(None, TARGETS)


def test_hit_is_predicted_as_the_target_even_when_top_label_is_another_class() -> None:
    (r,) = parsed(record("tiger", "hit", "tiger", target_score=0.6))
    assert burst_predicted(r, TARGETS) == "leopard"


def test_miss_is_predicted_as_its_top_label_first_name() -> None:
    (r,) = parsed(record("leopard", "miss", "Tiger, Panthera tigris"))
    assert burst_predicted(r, TARGETS) == "tiger"
    assert short_label("Tiger, Panthera tigris") == "tiger"


# --- Parsing --------------------------------------------------------------------------------


def test_parse_record_names_the_bad_key() -> None:
    raw = record("leopard", "maybe", "leopard")
    with pytest.raises(ValueError, match="line 3: verdict"):
        parse_record(raw, "line 3")
    raw = record("leopard", "hit", "leopard")
    raw["frames"][0]["target_score"] = "high"
    with pytest.raises(ValueError, match=r"frames\[0\]: target_score"):
        parse_record(raw)


# --- Whole evaluation -----------------------------------------------------------------------


def small_set() -> list[BurstRecord]:
    return parsed(
        record("leopard", "hit", "leopard", [(0.9, "leopard"), (0.8, "leopard")], 0.8),
        record("leopard", "hit", "leopard", [(0.7, "leopard"), (0.2, "tiger")], 0.7),
        record("leopard", "miss", "tiger", [(0.3, "tiger"), (0.1, "tiger")], 0.3),
        record("tiger", "hit", "tiger", [(0.6, "tiger"), (0.4, "tiger")], 0.6),
        record("tiger", "miss", "tiger", [(0.1, "tiger"), (0.1, "tiger")], 0.1),
        record("empty", "miss", "empty", [(0.0, "empty"), (0.0, "empty")], 0.0),
    )


def test_burst_precision_and_recall_per_class() -> None:
    ev = evaluate_records(small_set(), TARGETS, threshold=0.5)
    stats = {s.label: s for s in ev.burst_classes}
    # leopard: 3 true, predicted 3 (2 true hits + the tiger hit), 2 correct
    assert (stats["leopard"].support, stats["leopard"].predicted, stats["leopard"].correct) == (
        3,
        3,
        2,
    )
    assert stats["leopard"].precision == pytest.approx(2 / 3)
    assert stats["leopard"].recall == pytest.approx(2 / 3)
    # tiger: 2 true, predicted 2 (the missed leopard + one tiger), 1 correct
    assert stats["tiger"].precision == pytest.approx(0.5)
    assert stats["tiger"].recall == pytest.approx(0.5)
    assert stats["empty"].precision == 1.0 and stats["empty"].recall == 1.0
    assert stats["leopard"].recall_ci == wilson(2, 3)


def test_burst_confusion_matrix_has_targets_first_and_empty_last() -> None:
    ev = evaluate_records(small_set(), TARGETS, threshold=0.5)
    c = ev.burst_confusion
    assert c.rows == c.cols == ("leopard", "tiger", "empty")
    assert c.matrix == ((2, 1, 0), (1, 1, 0), (0, 0, 1))


def test_frame_level_uses_frame_threshold_and_burst_label_as_truth() -> None:
    ev = evaluate_records(small_set(), TARGETS, threshold=0.5)
    c = ev.frame_confusion
    row = dict(zip(c.cols, c.matrix[c.rows.index("leopard")], strict=True))
    # leopard frames: 0.9, 0.8, 0.7 reach 0.5 -> leopard; 0.2, 0.3, 0.1 are tiger
    assert row["leopard"] == 3 and row["tiger"] == 3
    tiger_row = dict(zip(c.cols, c.matrix[c.rows.index("tiger")], strict=True))
    assert tiger_row["leopard"] == 1 and tiger_row["tiger"] == 3
    assert ev.frames == 12


def test_frequent_unlabelled_predictions_get_columns_and_the_rest_share_other() -> None:
    records = parsed(
        record("leopard", "miss", "cheetah", target_score=0.3),
        record("leopard", "miss", "cheetah", target_score=0.3),
        record("empty", "miss", "golf ball", target_score=0.0),
        record("empty", "miss", "empty", target_score=0.0),
        *(record("empty", "miss", f"thing {i}", target_score=0.0) for i in range(6)),
    )
    c = evaluate_records(records, TARGETS, 0.5).burst_confusion
    assert c.rows == ("leopard", "empty")
    assert c.cols[:4] == ("leopard", "empty", "cheetah", "golf ball")
    assert len(c.cols) == 2 + MAX_NAMED_OTHERS + 1 and c.cols[-1] == OTHER
    assert c.matrix[0][2] == 2 and c.matrix[1][-1] == 2  # thing 4 and thing 5


def test_top_confusions_name_what_the_targets_were_read_as() -> None:
    records = parsed(
        *(record("leopard", "miss", "jaguar, panther", target_score=0.3) for _ in range(3)),
        record("leopard", "miss", "cheetah", target_score=0.3),
        record("empty", "hit", "leopard", target_score=0.9),
    )
    ev = evaluate_records(records, TARGETS, 0.5)
    assert ev.top_confusions[:2] == (("leopard", "jaguar", 3), ("empty", "leopard", 1))


def test_a_miss_whose_top_label_is_the_target_is_not_counted_as_found() -> None:
    records = parsed(
        record("leopard", "miss", "leopard", [(0.4, "leopard")], 0.4),
        record("leopard", "hit", "leopard", [(0.9, "leopard")], 0.9),
    )
    ev = evaluate_records(records, TARGETS, 0.5)
    stats = {s.label: s for s in ev.burst_classes}
    assert stats["leopard"].correct == 1  # the same as the decision's recall, 1 of 2
    assert burst_predicted(records[0], TARGETS) == BELOW
    assert ev.frame_confusion.cols == ("leopard", BELOW)


def test_group_members_are_read_as_their_group() -> None:
    aliases = group_aliases({"leopard": ["leopard", "jaguar"]})
    raw = record("leopard", "hit", "jaguar, panther", [(0.8, "jaguar, panther")], 0.8)
    (r,) = parsed({**raw, "target": "leopard"})
    assert burst_predicted(r, ("leopard", "jaguar"), aliases) == "leopard"
    ev = evaluate_records([r], ("leopard", "jaguar"), 0.5, aliases)
    assert ev.frame_confusion.matrix == ((1,),)


def test_error_bursts_and_frames_are_skipped_and_counted() -> None:
    bad = record("leopard", "error", "", [(0.9, "leopard")], error="000.jpg: cannot decode")
    bad["frames"].append(frame(1, 0.0, "", error="cannot identify image file"))
    unlabelled = record(None, "miss", "deer")
    ev = evaluate_records([*small_set(), *parsed(bad, unlabelled)], TARGETS, 0.5)
    assert ev.bursts == 6
    assert ev.skipped_bursts == 1 and ev.skipped_frames == 1
    assert ev.unlabelled_bursts == 1
    assert sum(sum(r) for r in ev.burst_confusion.matrix) == 6


def test_evaluation_needs_a_target() -> None:
    with pytest.raises(ValueError, match="target"):
        evaluate_records(small_set(), (), 0.5)


# --- PR curve -------------------------------------------------------------------------------


def test_pr_curve_points_and_average_precision_known_answer() -> None:
    points, ap = pr_curve([(0.9, True), (0.8, False), (0.7, True), (0.1, False)])
    got = [(p.threshold, round(p.precision, 4), p.recall) for p in points]
    assert got == [(0.9, 1.0, 0.5), (0.8, 0.5, 0.5), (0.7, 0.6667, 1.0), (0.1, 0.5, 1.0)]
    assert ap == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)


def test_pr_curve_of_separable_scores_reaches_precision_and_recall_one() -> None:
    points, ap = pr_curve([(0.95, True), (0.9, True), (0.3, False), (0.2, False)])
    assert any(p.precision == 1.0 and p.recall == 1.0 for p in points)
    assert ap == 1.0


def test_pr_curve_ties_share_one_threshold() -> None:
    points, _ = pr_curve([(0.5, True), (0.5, False), (0.5, True)])
    assert len(points) == 1 and points[0].precision == pytest.approx(2 / 3)


def test_pr_curve_without_targets_is_empty() -> None:
    assert pr_curve([(0.5, False)]) == ((), None)


def test_hits_are_counted_by_the_source_of_their_winning_region() -> None:
    from camtrap.core.burst_record import hits_by_source, parse_record

    def rec(verdict: str, source: str | None) -> Any:
        raw: dict[str, Any] = {
            "source": "b",
            "verdict": verdict,
            "target_score": 0.9,
            "top_label": "leopard",
            "top_score": 0.9,
            "frames_total": 1,
            "frames_classified": 1,
        }
        if source is not None:
            raw["region_source"] = source
        return parse_record(raw)

    records = [rec("hit", "motion"), rec("hit", "motion"), rec("hit", None), rec("miss", "tiles")]
    assert hits_by_source(records) == {"motion": 2, "tiles": 0, "full": 1}
