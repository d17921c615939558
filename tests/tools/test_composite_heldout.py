"""Held-out figures of the composite tool: folds by site and by photo, cross-fitted rules.

Synthetic records only: no ../shared needed. The real-photo side is in test_composite_bursts.
"""

from __future__ import annotations

import doctest
from pathlib import Path

from tools import composite_heldout as heldout


def test_scenes_of_one_site_share_a_fold_and_the_salt_redraws_the_split() -> None:
    assert heldout.site_of("md_sample-crocdocs-07.jpg") == "md_sample-crocdocs"
    assert heldout.site_of("st_blank.jpg") == heldout.site_of("st_blank3.jpg") == "st_blank"
    assert heldout.site_of("2041.jpg") == "2041"  # a name that is all number is its own site
    sites = [f"site{chr(97 + i)}-{n:02d}.jpg" for i in range(20) for n in (1, 2, 3)]
    folds = {heldout.site_of(s): set() for s in sites}
    for s in sites:
        folds[heldout.site_of(s)].add(heldout.fold_of_site(s))
    assert all(len(f) == 1 for f in folds.values())
    split = [heldout.fold_of_site(s) for s in sites[::3]]
    assert 0 in split and 1 in split
    assert split != [heldout.fold_of_site(s, seed=1) for s in sites[::3]]


def test_photos_go_by_their_bytes_not_their_name(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jpg", tmp_path / "renamed.jpg"
    a.write_bytes(b"same photo")
    b.write_bytes(b"same photo")
    assert heldout.fold_of_photo(a) == heldout.fold_of_photo(b)
    grouped = heldout.by_fold([a, b], heldout.fold_of_photo)
    assert set(grouped) == {0, 1} and sum(map(len, grouped.values())) == 2


def record(source: str, scores: list[float]) -> dict[str, object]:
    frames = [{"target_score": s, "error": None} for s in scores]
    return {"source": source, "frames_total": len(scores), "frames": frames}


def test_each_fold_is_judged_by_the_rule_the_other_fold_chose() -> None:
    # Fold 0: a leopard at 0.6, non-leopards at 0.3 and 0; fold 1: leopards at 0.9 and 0.2,
    # a non-leopard at 0.1. Each fold chooses on itself (no false hit allowed) and is judged
    # on the other: fold 0's threshold (over 0.3) misses fold 1's 0.2 leopard; fold 1's (over
    # 0.1, to take its 0.2 leopard) lets fold 0's 0.3 non-leopard through.
    records = {
        "leopard-20": [
            record("l0a", [0.6] * 3),
            record("l1a", [0.9] * 3),
            record("l1b", [0.2] * 3),
        ],
        "other-20": [record("o0a", [0.3] * 3), record("o0b", [0.0] * 3), record("o1a", [0.1] * 3)],
    }
    folds = {"l0a": 0, "o0a": 0, "o0b": 0, "l1a": 1, "l1b": 1, "o1a": 1}
    choices = heldout.cross_fit(records, folds, budget=0.0, bound="point")
    zero, one = choices
    assert 0.3 < zero.rule.threshold <= 0.6  # above fold 0's non-leopards, at its leopard
    assert 0.1 < one.rule.threshold <= 0.2
    assert zero.held_out == {"leopard-20": (1, 2), "other-20": (0, 1)}  # l1b at 0.2 missed
    assert one.held_out == {"leopard-20": (1, 1), "other-20": (1, 2)}  # o0a at 0.3 hit
    total = heldout.pooled(choices)
    assert total["leopard-20"][1] == 3 and total["other-20"][1] == 3  # each burst judged once
    assert "on its own fold recall 1/1" in zero.calibration


def test_docstring_examples() -> None:
    result = doctest.testmod(heldout)
    assert result.attempted > 0 and result.failed == 0
