"""Target matching: exact ignoring case, or the label's first comma-separated name."""

from __future__ import annotations

import numpy as np
import pytest

from camtrap.core.targets import (
    TargetGroup,
    first_name,
    groups_from_mapping,
    member_names,
    merge_groups,
    parse_group,
    resolve_targets,
)
from camtrap.errors import UsageError

IMAGENET = (
    "background",
    "leopard, Panthera pardus",
    "snow leopard, ounce, Panthera uncia",
    "jaguar, panther, Panthera onca, Felis onca",
)


def test_first_name_matches_and_snow_leopard_does_not():
    assert resolve_targets(["leopard"], IMAGENET).indices == (1,)


def test_exact_full_label_matches_ignoring_case():
    assert resolve_targets(["SNOW LEOPARD, ounce, Panthera uncia"], IMAGENET).indices == (2,)


def test_a_later_comma_name_is_not_a_match():
    with pytest.raises(UsageError, match="'panther' matches no label"):
        resolve_targets(["panther"], IMAGENET)


def test_unknown_target_is_a_usage_error_listing_labels():
    with pytest.raises(UsageError, match=r"'lion' matches no label.*'background'"):
        resolve_targets(["leopard", "lion"], IMAGENET)


def test_no_targets_is_a_usage_error():
    with pytest.raises(UsageError, match="no target labels"):
        resolve_targets([], IMAGENET)


def test_several_targets_and_score_is_the_max_over_them():
    t = resolve_targets(["leopard", "jaguar"], IMAGENET)
    probs = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    assert t.indices == (1, 3)
    assert t.score(probs) == pytest.approx(0.4)
    assert t.best_label(probs) == IMAGENET[3]


def test_first_name_strips_the_rest():
    assert first_name("leopard, Panthera pardus") == "leopard"
    assert first_name("tiger") == "tiger"


# --------------------------------------------------------------------------------------------
# Label roll-up groups

AMUR = "leopard=leopard;jaguar;cheetah;snow leopard"


def imagenet_like() -> tuple[str, ...]:
    return (*IMAGENET, "cheetah, chetah, Acinonyx jubatus", "tabby, tabby cat")


def test_group_spec_parses_name_and_members():
    g = parse_group(" leopard = leopard; jaguar ;cheetah;; ")
    assert g == TargetGroup("leopard", ("leopard", "jaguar", "cheetah"))


@pytest.mark.parametrize("spec", ["leopard", "=jaguar", "leopard=", "leopard= ; ;"])
def test_bad_group_spec_is_a_usage_error(spec):
    with pytest.raises(UsageError, match="want NAME=LABEL;LABEL"):
        parse_group(spec)


def test_a_target_naming_a_group_scores_the_sum_of_its_members():
    labels = imagenet_like()
    t = resolve_targets(["Leopard"], labels, [parse_group(AMUR)])
    probs = np.array([0.0, 0.30, 0.10, 0.35, 0.20, 0.05], np.float32)
    assert sorted(t.indices) == [1, 2, 3, 4]
    assert t.score(probs) == pytest.approx(0.95)
    assert t.best(probs) == ("leopard", labels[3])  # the group, and the member that scored
    assert t.is_group("LEOPARD")


def test_group_sum_is_capped_at_one_for_non_softmax_outputs():
    t = resolve_targets(["cats"], IMAGENET, [parse_group("cats=leopard;jaguar")])
    assert t.score(np.array([0.0, 0.9, 0.0, 0.8], np.float32)) == 1.0


def test_members_matching_one_label_count_once():
    t = resolve_targets(["cats"], IMAGENET, [parse_group("cats=leopard;Leopard, Panthera pardus")])
    assert t.indices == (1,)
    assert t.score(np.array([0.0, 0.4, 0.0, 0.0], np.float32)) == pytest.approx(0.4)


def test_plain_targets_beside_a_group_keep_the_max():
    t = resolve_targets(["tabby", "big"], imagenet_like(), [parse_group("big=leopard;jaguar")])
    probs = np.array([0.0, 0.2, 0.0, 0.25, 0.0, 0.5], np.float32)
    assert t.score(probs) == pytest.approx(0.5)
    assert t.best(probs) == ("tabby", "tabby, tabby cat")


def test_a_member_matching_no_label_names_group_and_member():
    with pytest.raises(UsageError, match="target group 'leopard': member 'jagaur' matches no"):
        resolve_targets(["leopard"], IMAGENET, [parse_group("leopard=leopard;jagaur")])


def test_a_group_no_target_names_is_not_used_or_checked():
    t = resolve_targets(["jaguar"], IMAGENET, [parse_group("x=nothing-like-this")])
    assert t.indices == (3,) and not t.is_group("x")


def test_groups_from_a_mapping_and_later_layers_replace_earlier():
    card = groups_from_mapping({"leopard": ["leopard", "jaguar"]}, "model.json: target_groups")
    cli = (parse_group("Leopard=leopard"),)
    assert merge_groups(card, cli) == cli
    with pytest.raises(UsageError, match=r"target_groups\.bad: must be a non-empty list"):
        groups_from_mapping({"bad": "leopard"}, "model.json: target_groups")


def test_member_names_lists_the_targets_and_their_groups_members():
    groups = [parse_group(AMUR)]
    names = member_names(["leopard", "tiger"], groups)
    assert names == ("leopard", "tiger", "jaguar", "cheetah", "snow leopard")
