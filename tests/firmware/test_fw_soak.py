"""The 30-day soak (tests/firmware/soak.py): random faults, invariants checked as it runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import soak

from trapfw import fsm


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_thirty_days_of_faults_keep_every_invariant(seed):
    report = soak.soak(seed=seed, days=30)
    # The faults really happened, so the invariants were exercised:
    assert report["brownouts"] >= 2
    assert report["pi_dead"] + report["pi_crash"] + report["pi_nohalt"] >= 3
    assert report["garbled"] > 50 and report["mcu_link_bad_frames"] > 0
    assert report["hits_acked"] > 20
    assert report["uplinked"] + report["queued"] >= report["hits_acked"]
    assert report["max_on_ms"] <= 180_000


def test_the_soak_catches_a_pi_left_powered(monkeypatch):
    # Break the firmware: a Pi that never raises its halt line is never cut.
    monkeypatch.setitem(fsm._ROWS["shutdown"], "tick", fsm._ignore)
    with pytest.raises(AssertionError, match=r"Pi on for|stuck"):
        soak.soak(seed=1, days=30)
