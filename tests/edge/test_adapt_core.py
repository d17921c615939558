"""Pure parts of site adaptation: bursts from photos, penalty and threshold on validation,
figures on test; and the rule of three behind calibrate's refusal."""

from __future__ import annotations

import numpy as np
import pytest

from camtrap.core.adapt import Part, adapt, bursts_of, learning_curve
from camtrap.core.head import train_head
from camtrap.core.intervals import negatives_needed, unsupported_rate, zero_alert_upper_bound
from camtrap.core.operating_point import MinRecall

LABELS = ("leopard", "other")


def part(n_leopard: int, n_other: int, seed: int, burst: int = 1) -> Part:
    rng = np.random.default_rng(seed)
    mean = np.repeat([2.0, 0.0], 8)
    x = np.abs(
        np.vstack([rng.normal(mean, 1, (n_leopard, 16)), rng.normal(mean[::-1], 1, (n_other, 16))])
    )
    y = np.repeat([0, 1], [n_leopard, n_other])
    groups = tuple(f"s{seed}-{i // burst}-{y[i]}" for i in range(len(y)))
    return Part(x, y, groups)


def test_photos_of_one_sequence_are_one_burst():
    p = part(4, 4, 0, burst=2)
    head = train_head(p.x, p.y, LABELS)
    bursts = bursts_of(head, p, 0)
    assert len(bursts) == 4 and all(b.frames_planned == 2 for b in bursts)
    assert sum(b.is_target for b in bursts) == 2


def test_adapt_chooses_on_validation_and_reports_the_test_split():
    a = adapt(part(40, 40, 1), part(15, 15, 2), part(20, 20, 3), LABELS, 0, MinRecall(0.97))
    assert a.chosen.targets == 15 and a.held_out.targets == 20  # val chose, test reported
    assert a.rule.k == 1 and 0 < a.rule.threshold < 1
    assert a.held_out.recall >= 0.9 and a.held_out.fp <= 1


def test_the_learning_curve_has_one_point_per_size():
    points = learning_curve(part(30, 30, 4), part(20, 20, 5), LABELS, 0, 0.5, (2, 10), 0.01, 2)
    assert [p.per_class for p in points] == [2, 10]
    assert all(0 <= p.recall <= 1 and 0 <= p.false_alert_rate <= 1 for p in points)


def test_the_rule_of_three():
    assert zero_alert_upper_bound(100) == pytest.approx(0.0295, abs=1e-4)  # ~3/100
    assert negatives_needed(0.05) == 59
    assert unsupported_rate(59, 0.05) is None
    assert "label at least 59 non-target bursts" in (unsupported_rate(25, 0.05) or "")
