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

from trapfw import fsm, joinbackoff, radio


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
    monkeypatch.setattr(joinbackoff.JoinBackoff, "allowance", lambda self, now: 1e9)
    monkeypatch.setattr(joinbackoff.JoinBackoff, "DUTY", (0.05, 0.05, 0.05))
    with pytest.raises(AssertionError, match=r"of joins|in a day"):
        soak.soak(seed=2, days=30, board="rp2")


WINDOWS = "04:00-07:00,17:00-20:00"  # the documented default: twilight, local time


@pytest.mark.parametrize("board", ["esp32", "rp2"])
def test_a_scheduled_trap_keeps_the_pi_in_its_windows_through_thirty_days_of_faults(board):
    report = soak.soak(seed=2, days=30, board=board, schedule=WINDOWS)
    # invariants held (checked as it ran): outside the windows the Pi came on only for a PIR
    # and never stayed up longer than max_on_s; it was armed inside them most of the time
    assert report["window_boots"] > 20 and report["pir_boots"] > 100
    assert report["armed_on_ms"] > 10 * report["outside_on_ms"]
    assert report["max_on_ms"] <= 180_000
    assert report["uplinked"] + report["queued"] + report["folded"] >= report["hits_acked"]


def test_the_schedule_draws_what_the_power_budget_says():
    """Cost the soak's measured Pi hours and boots with hardware/power.toml; compare with
    `camtrap power-budget`'s figure for the schedule at the soak's own trigger rate."""
    import tomllib

    from camtrap.core import designs, power

    root = Path(__file__).resolve().parents[2]
    pw = power.parse_power_params(
        tomllib.loads((root / "hardware" / "power.toml").read_text()), "power.toml"
    )[0]
    raw = tomllib.loads((root / "hardware" / "capture.toml").read_text())
    raw["schedule"]["windows"]["value"] = WINDOWS
    cp = designs.parse_capture_params(raw, "capture.toml")[0]
    days = 30
    r = soak.soak(seed=3, days=days, board="esp32", schedule=WINDOWS, steady_battery=True)
    share = 6 / 24
    up_s = r["armed_on_ms"] / 1000 / days
    assert 0.95 * share * 86400 <= up_s <= share * 86400  # armed nearly all of every window
    triggers = r["pir_boots"] / days / (1 - share)  # the rate behind the boots outside
    fast = power.with_overrides(pw, pi_boot_s=cp.pi_boot_fast_s)
    gated = power.power_gated_event_j(fast, 0.05)
    awake_w = pw.pi_idle_w / pw.converter_efficiency + pw.mcu_active_ma / 1000 * pw.battery_v
    edge_j = gated["boot"] + gated["shutdown"]
    edge_j += pw.mcu_active_ma / 1000 * pw.battery_v * (fast.pi_boot_s + fast.pi_shutdown_s)
    floor_ua = pw.mcu_sleep_ua + pw.pir_ua + pw.modem_sleep_ua + pw.load_switch_ua
    floor_ua += pw.divider_ua
    ua_day = 1e-6 * pw.battery_v * 86400
    measured = (
        up_s * awake_w
        + share * (pw.pir_ua + pw.modem_sleep_ua + pw.divider_ua) * ua_day
        + (1 - share) * floor_ua * ua_day
        + r["window_boots"] / days * edge_j
        + r["pir_boots"] / days * sum(gated.values())
        + triggers * share * sum(power.always_on_event_j(pw, 0.05).values())
        + pw.heartbeats_per_day * power.uplink_j(pw)
    )
    model = designs.scheduled_day_j(pw, cp, triggers, 0.05)
    assert measured == pytest.approx(model, rel=0.05)


def test_the_soak_catches_a_pi_kept_up_after_its_window(monkeypatch):
    # Break the schedule: the window's end never asks the Pi to halt.
    from trapfw import fsm_armed  # the armed row lives there (loaded with a schedule only)

    monkeypatch.setitem(fsm_armed.ROW, "tick", fsm._ignore)
    with pytest.raises(AssertionError, match=r"outside its windows"):
        soak.soak(seed=2, days=30, schedule=WINDOWS)
