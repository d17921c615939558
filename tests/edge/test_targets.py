"""Target matching: exact ignoring case, or the label's first comma-separated name."""

from __future__ import annotations

import numpy as np
import pytest

from camtrap.core.targets import first_name, resolve_targets
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
