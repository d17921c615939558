"""Label roll-up through the pipeline: the burst names the group and its member; hits go out
under the group's name."""

from __future__ import annotations

import numpy as np
from burstkit import GREEN, RED, ColourClassifier

from camtrap.core.hits import hit_label
from camtrap.core.pipeline import Detector, classify_burst
from camtrap.core.targets import parse_group, resolve_targets
from camtrap.core.types import Frame
from camtrap.core.verdict import Rule


def frames(colour: tuple[int, int, int], n: int) -> list[Frame]:
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[:] = colour
    return [Frame(i, 0.5 * i, pixels) for i in range(n)]


def group_detector(threshold: float) -> Detector:
    clf = ColourClassifier()
    targets = resolve_targets(["prey"], clf.labels, [parse_group("prey=deer;empty")])
    return Detector(clf, targets, Rule("k_of_n", 1, threshold, False), "squash", "colour@0")


def mixed(green: int, blue: int) -> list[Frame]:
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[:, :, 1], pixels[:, :, 2] = green, blue
    return [Frame(0, 0.0, pixels)]


def test_a_group_hit_names_the_group_and_the_member_and_goes_out_as_the_group():
    result = classify_burst(frames(GREEN, 2), 2, group_detector(0.5))
    assert result.verdict.decision == "hit"
    assert (result.target, result.target_label) == ("prey", "deer")
    assert hit_label(result) == "prey"


def test_the_group_scores_the_sum_where_each_member_alone_would_miss():
    # green 120, blue 100: deer 0.55, empty 0.45 of the colour mass; the sum passes 0.9
    result = classify_burst(mixed(120, 100), 1, group_detector(0.9))
    assert result.verdict.decision == "hit"
    assert result.verdict.target_score > 0.99
    clf = ColourClassifier()
    plain = resolve_targets(["deer", "empty"], clf.labels)  # two plain targets: the max
    det = Detector(clf, plain, Rule("k_of_n", 1, 0.9, False))
    assert classify_burst(mixed(120, 100), 1, det).verdict.decision == "miss"


def test_a_plain_target_hit_goes_out_under_the_label_first_name():
    clf = ColourClassifier()
    det = Detector(clf, resolve_targets(["leopard"], clf.labels), Rule("k_of_n", 1, 0.5))
    result = classify_burst(frames(RED, 1), 1, det)
    assert hit_label(result) == "leopard" and result.target_label == "leopard, Panthera pardus"
