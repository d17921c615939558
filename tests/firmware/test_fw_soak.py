"""The 30-day soak (tests/firmware/soak.py): random faults, invariants checked as it runs.

ESP32: every wake from deep sleep rebuilds the firmware from the state record and RTC memory,
as the chip's reset does; RP2: the firmware lives on through its lightsleeps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import soak

from trapfw import fsm, radio


@pytest.mark.parametrize("board", ["esp32", "rp2"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_thirty_days_of_faults_keep_every_invariant(seed, board):
    report = soak.soak(seed=seed, days=30, board=board)
    # The faults really happened, so the invariants were exercised:
    assert report["brownouts"] >= 2
    assert report["pi_dead"] + report["pi_crash"] + report["pi_nohalt"] >= 3
    assert report["garbled"] > 50 and report["mcu_link_bad_frames"] > 0
    assert report["hits_acked"] > 20
    assert report["uplinked"] + report["queued"] + report["folded"] >= report["hits_acked"]
    assert report["max_on_ms"] <= 180_000
    assert report["outages"] >= 2 and report["joins"] > 0 and report["heartbeats"] > 20
    assert report["modem_asleep"]
    if board == "esp32":
        assert report["resets_on_wake"] > 300  # deep sleep is a reset, every time
    else:
        assert report["resets_on_wake"] == 0


def test_the_soak_catches_a_pi_left_powered(monkeypatch):
    # Break the firmware: a Pi that never raises its halt line is never cut.
    monkeypatch.setitem(fsm._ROWS["shutdown"], "tick", fsm._ignore)
    with pytest.raises(AssertionError, match=r"Pi on for|stuck"):
        soak.soak(seed=1, days=30)


def test_the_soak_catches_a_radio_that_forgets_at_every_wake(monkeypatch):
    # Break the firmware as it was: nothing of the radio in the state record.
    monkeypatch.setattr(radio.LoraRadio, "restore_state", lambda self, data, shift_s=0.0: False)
    with pytest.raises(AssertionError, match=r"heartbeat says|of joins|in a day|hits lost"):
        soak.soak(seed=1, days=30, board="esp32")


def test_the_soak_catches_joins_beyond_rp002(monkeypatch):
    # Break the back-off: LoRaMac's join duty cycle alone, no RP002 window caps.
    monkeypatch.setattr(radio.uplink.JoinBackoff, "allowance", lambda self, now: 1e9)
    monkeypatch.setattr(radio.uplink.JoinBackoff, "DUTY", (0.05, 0.05, 0.05))
    with pytest.raises(AssertionError, match=r"of joins|in a day"):
        soak.soak(seed=2, days=30, board="rp2")
